"""Rollouts: start one for a rule request, report its progress, and close it when the state machine ends.

The state machine's input is built here and holds no credential value: inline credentials are first stored
in a home-region source secret and travel by ARN.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pullthrough.adapters.secrets import SecretStore
from pullthrough.adapters.store import PrefixBusy, RolloutStore
from pullthrough.adapters.workflow import EventBus, Executions
from pullthrough.exceptions import InvalidRequest, SecretScheduledForDeletion
from pullthrough.models import Credentials, RuleRequest
from pullthrough.secret_names import source_secret_name_for
from pullthrough.steps.secret import restore_secret
from pullthrough.tasks import SecretChange

RULE_REQUESTED = "Pull Through Cache Rule Requested"
ROLLOUT_FINISHED = "Pull Through Cache Rollout Finished"
LOCK_LEASE_SECONDS = 3600  # longer than any rollout's retries can take
LOCK_GRACE_SECONDS = 60  # a lock whose execution never started is taken over after this
IDEMPOTENCY_WINDOW_SECONDS = 600
TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


class UnknownRule(InvalidRequest):
    """No desired rule exists for the prefix."""


def new_rollout_id() -> str:
    return f"r-{uuid.uuid4().hex}"


def request_fingerprint(request: RuleRequest, idempotency_key: str | None) -> str | None:
    """The key under which a request is remembered for the idempotency window, or None.

    An Idempotency-Key header wins. Otherwise the body counts, but only when it holds no inline credential:
    nothing derived from a credential is ever stored, and a new credential must roll out, not be deduplicated.
    """
    if idempotency_key:
        return "key:" + hashlib.sha256(idempotency_key.encode()).hexdigest()
    if request.credentials is not None:
        return None
    body = request.model_dump(mode="json", exclude={"credentials"}, exclude_unset=False)
    body["skipsTemplate"] = request.skips_template
    return "body:" + hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def save_source_credentials(secrets: SecretStore, prefix: str, credentials: Credentials) -> SecretChange:
    """Keep inline credentials in the home region's source secret for ``prefix``.

    Writes only when the stored value differs; the change record lets a rolled-back rollout restore it.
    """
    name = source_secret_name_for(prefix)
    value = credentials.secret_string()
    try:
        current = secrets.read(name)
    except SecretScheduledForDeletion:
        secrets.restore(name)
        current = secrets.read(name)
    if current is None:
        made = secrets.create(name, value, description="Upstream credentials given to pullthrough's API")
        return SecretChange(action="created", secretArn=made.arn, versionId=made.version_id)
    version, stored = current
    if stored == value:
        return SecretChange(action="unchanged", secretArn=version.arn, versionId=version.version_id)
    put = secrets.put(version.arn, value)
    return SecretChange(
        action="updated", secretArn=put.arn, versionId=put.version_id, priorVersionId=version.version_id
    )


def error_view(error: dict[str, Any] | str | None) -> dict[str, str] | None:
    """A Step Functions error record ({Error, Cause}) as {type, message}; None when there is none."""
    record: dict[str, Any] = json.loads(error or "{}") if isinstance(error, str) else (error or {})
    if not record:
        return None
    cause = record.get("Cause", "")
    try:
        parsed = json.loads(cause)
    except (TypeError, ValueError):
        parsed = None
    message = parsed.get("errorMessage", cause) if isinstance(parsed, dict) else cause
    return {"type": record.get("Error", "Error"), "message": message}


def region_view(entry: dict[str, Any]) -> dict[str, Any]:
    """A region's entry as the API shows it: status, step, and the error's type and message."""
    view = {
        "status": entry.get("status", "PENDING"),
        "step": entry.get("step"),
        "error": error_view(entry.get("error")),
    }
    if entry.get("rollbackError"):
        view["rollbackError"] = error_view(entry["rollbackError"])
    return view


@dataclass
class Rollouts:
    """The rollout service shared by the API, the EventBridge trigger and the finishing step."""

    store: RolloutStore
    executions: Executions
    home_secrets: SecretStore | None = None
    events: EventBus | None = None

    def start(self, request: RuleRequest, *, idempotency_key: str | None = None) -> dict[str, Any]:
        """Roll ``request`` out: lock the prefix, store inline credentials, record the rollout, start it.

        A request seen within the idempotency window (same Idempotency-Key, or the same body when it carries
        no inline credential) returns the rollout it started. Raises PrefixBusy naming the running rollout.
        """
        key = request_fingerprint(request, idempotency_key)
        if key is not None:
            seen = self.store.find_idempotent(key)
            if seen is not None:
                return self.view(seen) or {"rolloutId": seen, "status": "RUNNING"}
        rule = request.rule()
        prefix = rule.ecrRepositoryPrefix
        rollout_id = new_rollout_id()
        self._lock(prefix, rollout_id)
        try:
            source_arn = request.credentialSecretArn
            source_change = None
            if request.credentials is not None:
                assert self.home_secrets is not None, "inline credentials need the home-region secret store"
                source_change = save_source_credentials(self.home_secrets, prefix, request.credentials)
                source_arn = source_change.secretArn
            template = request.template()
            desired = {
                "rule": rule.model_dump(exclude_none=True),
                "regions": request.ordered_regions(),
                "creationTemplate": template.to_ecr() if template else None,
                "sourceSecretArn": source_arn,
            }
            started = self._launch(
                rollout_id,
                prefix,
                "APPLY",
                desired,
                request.rollout.maxConcurrency,
                request.rollout.failureTolerance,
                source_change=source_change,
            )
        except BaseException:
            self.store.release_lock(prefix, rollout_id)
            raise
        if key is not None:
            self.store.remember_idempotent(key, rollout_id, ttl_seconds=IDEMPOTENCY_WINDOW_SECONDS)
        return started

    def start_delete(self, prefix: str) -> dict[str, Any]:
        """Remove the prefix's rule, template and secret from every region of its desired rule, all or nothing."""
        desired = self.store.get_rule(prefix)
        if desired is None:
            raise UnknownRule(f"no rule for prefix {prefix!r}", field="prefix")
        rollout_id = new_rollout_id()
        self._lock(prefix, rollout_id)
        try:
            target = {k: desired.get(k) for k in ("rule", "regions")} | {
                "creationTemplate": None,
                "sourceSecretArn": None,
            }
            return self._launch(rollout_id, prefix, "DELETE", target, None, 0, keep_desired=True)
        except BaseException:
            self.store.release_lock(prefix, rollout_id)
            raise

    def _launch(
        self,
        rollout_id: str,
        prefix: str,
        operation: str,
        desired: dict[str, Any],
        max_concurrency: int | None,
        failure_tolerance: int,
        *,
        source_change: SecretChange | None = None,
        keep_desired: bool = False,
    ) -> dict[str, Any]:
        """Record the rollout (and the desired rule it aims at) and start its execution. Input: ARNs only."""
        created = now_iso()
        previous = self.store.get_rule(prefix)
        if keep_desired:
            self.store.update_rule(prefix, lastRolloutId=rollout_id, updatedAt=created)
        else:
            self.store.put_rule(prefix, desired | {"lastRolloutId": rollout_id, "updatedAt": created})
        regions = list(desired["regions"])
        self.store.put_rollout(
            {
                "rolloutId": rollout_id,
                "prefix": prefix,
                "operation": operation,
                "status": "RUNNING",
                "createdAt": created,
                "failedCount": 0,
                "regions": {region: {"status": "PENDING"} for region in regions},
                # What a rollback puts back besides the regions: the previous desired rule, the source secret.
                "previousRule": json.dumps(previous) if previous else None,
                "sourceSecretChange": source_change.model_dump_json(exclude_none=True) if source_change else None,
            }
        )
        self.executions.start(
            rollout_id,
            {
                "rolloutId": rollout_id,
                "operation": operation,
                "rule": desired["rule"],
                "sourceSecretArn": desired["sourceSecretArn"],
                "creationTemplate": desired["creationTemplate"],
                "regions": regions,
                "rollout": {"maxConcurrency": max_concurrency or 0, "failureTolerance": failure_tolerance},
            },
        )
        return {
            "rolloutId": rollout_id,
            "status": "RUNNING",
            "prefix": prefix,
            "operation": operation,
            "regions": {region: region_view({}) for region in regions},
        }

    def _lock(self, prefix: str, rollout_id: str) -> None:
        try:
            self.store.acquire_lock(prefix, rollout_id, lease_seconds=LOCK_LEASE_SECONDS)
        except PrefixBusy as busy:
            # A crashed or finished execution must not keep the prefix locked until the lease runs out. A holder
            # with no execution yet is only stale once its lock is old: its rollout record and execution are
            # written after it takes the lock, so concurrent requests see neither for a moment.
            status = self.executions.status(busy.rollout_id)
            lock_age = time.time() - busy.since if busy.since is not None else float("inf")
            stale = status in TERMINAL or (status is None and lock_age > LOCK_GRACE_SECONDS)
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

    def finish(
        self,
        rollout_id: str,
        prefix: str,
        region_results: list[dict[str, Any]],
        rollback_results: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Close a rollout: overall and per-region status, the desired rule, the lock, the Finished event.

        A rolled-back rollout also puts back the previous desired rule and the home-region source secret.
        """
        rolled_back = {r["region"]: r for r in rollback_results or []}
        entries: dict[str, dict[str, Any]] = {}
        for result in region_results:
            entry = {
                "status": result["status"],
                "step": result.get("step"),
                "error": json.dumps(result.get("error") or {}),
                "changes": json.dumps(result.get("changes") or {}),
            }
            undo = rolled_back.get(result["region"])
            if undo is not None and result["status"] != "SKIPPED":
                entry["status"] = undo["status"]  # ROLLED_BACK or ROLLBACK_FAILED
                if undo.get("error"):
                    entry["rollbackError"] = json.dumps(undo["error"])
            entries[result["region"]] = entry
        statuses = {e["status"] for e in entries.values()}
        if rolled_back:
            status = "FAILED" if "ROLLBACK_FAILED" in statuses else "ROLLED_BACK"
        else:
            status = "SUCCEEDED" if statuses <= {"SUCCEEDED"} else "FAILED"

        item = self.store.get_rollout(rollout_id) or {}
        operation = item.get("operation", "APPLY")
        finished = now_iso()
        self.store.set_rollout_status(rollout_id, status, finishedAt=finished, regions=entries)
        if status == "ROLLED_BACK":
            self._restore_desired(prefix, item)
        elif operation == "DELETE" and status == "SUCCEEDED":
            self.store.delete_rule(prefix)
            if self.home_secrets is not None:
                self.home_secrets.schedule_deletion(source_secret_name_for(prefix))
        else:
            self.store.update_rule(prefix, lastRolloutStatus=status, lastRolloutAt=finished)
        self.store.release_lock(prefix, rollout_id)
        summary = {
            "rolloutId": rollout_id,
            "prefix": prefix,
            "operation": operation,
            "status": status,
            "regions": {region: region_view(entry) for region, entry in sorted(entries.items())},
        }
        if self.events is not None:
            self.events.emit(ROLLOUT_FINISHED, summary)
        return summary

    def _restore_desired(self, prefix: str, rollout: dict[str, Any]) -> None:
        """After a rollback: the previous desired rule and source secret are the truth again."""
        previous = rollout.get("previousRule")
        if previous:
            restored = json.loads(previous)
            self.store.put_rule(prefix, {k: v for k, v in restored.items() if k not in ("pk", "sk")})
        else:
            self.store.delete_rule(prefix)
        change = rollout.get("sourceSecretChange")
        if change and self.home_secrets is not None:
            restore_secret(SecretChange.model_validate_json(change), self.home_secrets)
