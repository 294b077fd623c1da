"""Builds the services from the function's environment (read per call, never at import time).

Only the functions that start or close rollouts import this module (and with it the metrics): the region steps do not.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from pullthrough import aws
from pullthrough.adapters.functions import StepFunction
from pullthrough.adapters.secrets import SecretStore
from pullthrough.adapters.store import store_from_env
from pullthrough.adapters.workflow import EventBus, Executions
from pullthrough.metrics import RolloutMetrics, Trigger
from pullthrough.regions import home_region
from pullthrough.rollouts.deps import ROLE_WAIT_SECONDS, SETTLE_SECONDS, Deps
from pullthrough.secret_names import SECRET_PREFIX, SOURCE_SECRET_PREFIX


def rollouts_from_env(trigger: Trigger = "api", *, organization: bool = False) -> Deps:
    """The rollout use cases' dependencies wired to the table, state machine, home-region secrets, bus and metrics of this
    deployment; the rollouts it starts are recorded as started by ``trigger`` (api | event | sweep).
    ``organization``: it also reads AWS Organizations (to expand organizationalUnits)."""
    region = home_region()
    org = None
    # Organizations is a global service with one endpoint per partition (us-east-1 in aws, cn-northwest-1 in aws-cn,
    # us-gov-west-1 in aws-us-gov): botocore finds it from the home region, whichever partition that is in.
    if organization:  # imported here: FinishRollout, on every rollout's critical path, has no use for it
        from pullthrough.adapters.organizations import Organization

        org = Organization(
            aws.client("organizations", os.environ.get("ORGANIZATIONS_REGION") or region),
            home_account=aws.home_account(),
        )
    state_machine = os.environ.get("STATE_MACHINE_ARN")  # FinishRollout has none: the state machine calls it
    return Deps(
        store=store_from_env(region),
        executions=Executions(aws.client("stepfunctions", region), state_machine) if state_machine else None,
        home_secrets=SecretStore(_OnFirstUse(lambda: aws.client("secretsmanager", region))),  # type: ignore[arg-type]
        events=EventBus(aws.client("events", region), os.environ.get("EVENT_BUS_NAME", "default")),
        home_region=region,
        source_prefix=os.environ.get("SOURCE_SECRET_PREFIX", SOURCE_SECRET_PREFIX),
        settle_seconds=int(os.environ.get("ROLLOUT_SETTLE_SECONDS", SETTLE_SECONDS)),
        role_wait_seconds=int(os.environ.get("EXECUTION_ROLE_WAIT_SECONDS", ROLE_WAIT_SECONDS)),
        role_path=os.environ.get("PASSABLE_ROLE_PATH", "/"),
        credential_prefix=os.environ.get("CREDENTIAL_SECRET_PREFIX", SECRET_PREFIX),
        trigger=trigger,
        metrics=RolloutMetrics(),
        organization=org,
    )


def smoke_pull_from_env() -> StepFunction:
    """The SmokePull step function (SMOKE_PULL_FUNCTION_ARN), to run a pull test now."""
    return StepFunction(aws.client("lambda", home_region()), os.environ["SMOKE_PULL_FUNCTION_ARN"])


class _OnFirstUse:
    """A client made on its first call: most rollouts never touch the home-region secrets (FinishRollout only when it
    restores a source secret), and making a client costs a cold start tens of milliseconds (its service model)."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make  # aws.client caches: every later call returns the same client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._make(), name)
