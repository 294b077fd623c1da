"""Rollouts: start one for a rule request, report its progress, and close it when the state machine ends.

The state machine's input is built here and holds no credential value: inline credentials are first stored
in a home-region source secret and travel by ARN.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pullthrough.adapters.secrets import SecretStore
from pullthrough.adapters.store import PrefixBusy, RolloutStore
from pullthrough.adapters.workflow import EventBus, Executions
from pullthrough.models import Credentials, RuleRequest
from pullthrough.secret_names import source_secret_name_for

RULE_REQUESTED = "Pull Through Cache Rule Requested"
ROLLOUT_FINISHED = "Pull Through Cache Rollout Finished"
LOCK_LEASE_SECONDS = 3600  # longer than any rollout's retries can take
LOCK_GRACE_SECONDS = 60  # a lock whose execution never started is taken over after this
TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


def new_rollout_id() -> str:
    return f"r-{uuid.uuid4().hex}"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def save_source_credentials(secrets: SecretStore, prefix: str, credentials: Credentials) -> str:
    """Keep inline credentials in the home region's source secret for ``prefix``; return its ARN.

    Writes only when the stored value differs.
    """
    name = source_secret_name_for(prefix)
    value = credentials.secret_string()
    current = secrets.read(name)
    if current is None:
        return secrets.create(name, value, description="Upstream credentials given to pullthrough's API").arn
    version, stored = current
    if stored != value:
        secrets.put(version.arn, value)
    return version.arn


def region_view(entry: dict[str, Any]) -> dict[str, Any]:
    """A region's entry as the API shows it: status, step, and the error's type and message."""
    error = entry.get("error")
    if isinstance(error, str):
        error = json.loads(error or "{}")
    shown = None
    if error:
        cause = error.get("Cause", "")
        try:
            parsed = json.loads(cause)
        except (TypeError, ValueError):
            parsed = None
        message = parsed.get("errorMessage", cause) if isinstance(parsed, dict) else cause
        shown = {"type": error.get("Error", "Error"), "message": message}
    return {"status": entry.get("status", "PENDING"), "step": entry.get("step"), "error": shown}


@dataclass
class Rollouts:
    """The rollout service shared by the API, the EventBridge trigger and the finishing step."""

    store: RolloutStore
    executions: Executions
    home_secrets: SecretStore | None = None
    events: EventBus | None = None

    def start(self, request: RuleRequest, *, operation: str = "APPLY") -> dict[str, Any]:
        """Lock the prefix, store inline credentials, record the rollout and start its execution.

        Raises PrefixBusy (naming the running rollout) when the prefix is already rolling out.
        """
        rule = request.rule()
        prefix = rule.ecrRepositoryPrefix
        rollout_id = new_rollout_id()
        self._lock(prefix, rollout_id)
        try:
            source_arn = request.credentialSecretArn
            if request.credentials is not None:
                assert self.home_secrets is not None, "inline credentials need the home-region secret store"
                source_arn = save_source_credentials(self.home_secrets, prefix, request.credentials)
            template = request.template()
            regions = request.ordered_regions()
            created = now_iso()
            self.store.put_rule(
                prefix,
                {
                    "rule": rule.model_dump(exclude_none=True),
                    "regions": regions,
                    "creationTemplate": template.to_ecr() if template else None,
                    "sourceSecretArn": source_arn,
                    "lastRolloutId": rollout_id,
                    "updatedAt": created,
                },
            )
            self.store.put_rollout(
                {
                    "rolloutId": rollout_id,
                    "prefix": prefix,
                    "operation": operation,
                    "status": "RUNNING",
                    "createdAt": created,
                    "regions": {region: {"status": "PENDING"} for region in regions},
                }
            )
            self.executions.start(
                rollout_id,
                {
                    "rolloutId": rollout_id,
                    "operation": operation,
                    "rule": rule.model_dump(exclude_none=True),
                    "sourceSecretArn": source_arn,
                    "creationTemplate": template.to_ecr() if template else None,
                    "regions": regions,
                    "rollout": {
                        "maxConcurrency": request.rollout.maxConcurrency or 0,  # 0: every region at once
                        "failureTolerance": request.rollout.failureTolerance,
                    },
                },
            )
        except BaseException:
            self.store.release_lock(prefix, rollout_id)
            raise
        return {
            "rolloutId": rollout_id,
            "status": "RUNNING",
            "prefix": prefix,
            "regions": {region: region_view({}) for region in regions},
        }

    def _lock(self, prefix: str, rollout_id: str) -> None:
        try:
            self.store.acquire_lock(prefix, rollout_id, lease_seconds=LOCK_LEASE_SECONDS)
        except PrefixBusy as busy:
            # A crashed or finished execution must not keep the prefix locked until the lease runs out.
            holder = self.store.get_rollout(busy.rollout_id)
            status = self.executions.status(busy.rollout_id)
            stale = status in TERMINAL or (
                status is None and (holder is None or _age_seconds(holder.get("createdAt")) > LOCK_GRACE_SECONDS)
            )
            if not stale or not self.store.release_lock(prefix, busy.rollout_id):
                raise
            self.store.acquire_lock(prefix, rollout_id, lease_seconds=LOCK_LEASE_SECONDS)

    def view(self, rollout_id: str) -> dict[str, Any] | None:
        """The rollout as GET /rollouts/{id} shows it; None when unknown."""
        item = self.store.get_rollout(rollout_id)
        if item is None:
            return None
        status = item["status"]
        if status == "RUNNING":
            live = self.executions.status(rollout_id)
            if live in ("FAILED", "TIMED_OUT", "ABORTED"):
                status = "FAILED"  # the execution died before it could record its end
        return {
            "rolloutId": rollout_id,
            "status": status,
            "prefix": item.get("prefix"),
            "operation": item.get("operation", "APPLY"),
            "createdAt": item.get("createdAt"),
            "finishedAt": item.get("finishedAt"),
            "regions": {region: region_view(entry) for region, entry in sorted(item.get("regions", {}).items())},
        }

    def finish(self, rollout_id: str, prefix: str, region_results: list[dict[str, Any]]) -> dict[str, Any]:
        """Close a rollout: overall status, the desired rule's last status, the lock, the Finished event."""
        regions = {r["region"]: region_view(r) for r in region_results}
        status = "SUCCEEDED" if all(r["status"] == "SUCCEEDED" for r in regions.values()) else "FAILED"
        finished = now_iso()
        self.store.set_rollout_status(rollout_id, status, finishedAt=finished)
        self.store.update_rule(prefix, lastRolloutStatus=status, lastRolloutAt=finished)
        self.store.release_lock(prefix, rollout_id)
        summary = {"rolloutId": rollout_id, "prefix": prefix, "status": status, "regions": regions}
        if self.events is not None:
            self.events.emit(ROLLOUT_FINISHED, summary)
        return summary


def _age_seconds(iso: str | None) -> float:
    if not iso:
        return float("inf")
    return time.time() - datetime.fromisoformat(iso).timestamp()
