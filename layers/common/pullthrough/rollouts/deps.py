"""What every rollout use case is given: the store and the other dependencies, and the names they share."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pullthrough.adapters.secrets import SecretStore
from pullthrough.adapters.store import RolloutStore
from pullthrough.adapters.workflow import EventBus, Executions
from pullthrough.aws import home_account as aws_home_account
from pullthrough.exceptions import InvalidRequest
from pullthrough.secret_names import SECRET_PREFIX, SOURCE_SECRET_PREFIX

if TYPE_CHECKING:
    from pullthrough.adapters.organizations import Organization
    from pullthrough.metrics import RolloutMetrics

RULE_REQUESTED = "Pull Through Cache Rule Requested"
ROLLOUT_STARTED = "Pull Through Cache Rollout Started"  # emitted by the EventBridge trigger
ROLLOUT_FINISHED = "Pull Through Cache Rollout Finished"
LOCK_GRACE_SECONDS = 60  # a lock whose execution never started is taken over after this
PLAN = "PLAN"
APPLY_MODE = "APPLY"
# When the region Map fails as a whole, Lambda calls already running still finish: the rollback waits this long
# (longer than any step function's 30 s timeout) before restoring. Deployments may set ROLLOUT_SETTLE_SECONDS.
SETTLE_SECONDS = 35
# A rollout started because an account joined a targeted OU waits for the account's execution role, which the
# StackSet deploying target-account.yaml creates minutes later: ROLE_WAIT_ATTEMPTS waits of ROLE_WAIT_SECONDS each
# (a deployment's ExecutionRoleWaitSeconds) before ExecutionRoleUnavailable fails a target. Other rollouts never wait.
ROLE_WAIT_SECONDS = 60
ROLE_WAIT_ATTEMPTS = 15


class UnknownRule(InvalidRequest):
    """No desired rule exists for the prefix."""


def new_rollout_id() -> str:
    return f"r-{uuid.uuid4().hex}"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Deps:
    """The store and the services the use cases share (the API, the EventBridge trigger, the finishing steps,
    recovery, the sweep and account events each build one: pullthrough.wiring.rollouts_from_env)."""

    store: RolloutStore
    executions: Executions | None = None  # FinishRollout runs without it (the state machine invokes it)
    home_secrets: SecretStore | None = None
    events: EventBus | None = None
    home_region: str = "us-east-1"
    source_prefix: str = SOURCE_SECRET_PREFIX
    settle_seconds: int = SETTLE_SECONDS
    role_wait_seconds: int = ROLE_WAIT_SECONDS  # between attempts at a new account's execution role (trigger account)
    role_path: str = "/"  # customRoleArn must be under this IAM path (the template grants PassRole only there)
    credential_prefix: str = SECRET_PREFIX  # credentialSecretArn must name a home-region secret with this prefix
    trigger: str = (
        "api"  # what starts rollouts with these dependencies (api | event | account | sweep), recorded on each
    )
    metrics: RolloutMetrics | None = None
    organization: Organization | None = None  # expands organizationalUnits (the API, the trigger, account events)
    home: str | None = None  # the home account; default: the state machine's (or HOME_ACCOUNT_ID's)

    def require_executions(self) -> Executions:
        if self.executions is None:
            raise RuntimeError("this function is not configured with STATE_MACHINE_ARN")
        return self.executions

    @property
    def home_account(self) -> str:
        """The account pullthrough is deployed in: its targets need no execution role."""
        if self.home is None:
            self.home = self.executions.account_id() if self.executions is not None else aws_home_account()
        if self.home is None:
            raise RuntimeError("this function is configured with neither STATE_MACHINE_ARN nor HOME_ACCOUNT_ID")
        return self.home
