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
from pullthrough.exceptions import InvalidRequest
from pullthrough.models import Credentials, RuleRequest
from pullthrough.secret_names import SECRET_PREFIX, SOURCE_SECRET_PREFIX
from pullthrough.steps.secret import restore_secret
from pullthrough.tasks import SecretChange

RULE_REQUESTED = "Pull Through Cache Rule Requested"
ROLLOUT_FINISHED = "Pull Through Cache Rollout Finished"
LOCK_GRACE_SECONDS = 60  # a lock whose execution never started is taken over after this
IDEMPOTENCY_WINDOW_SECONDS = 600
TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


class UnknownRule(InvalidRequest):
    """No desired rule exists for the prefix."""


def new_rollout_id() -> str:
    return f"r-{uuid.uuid4().hex}"


def request_fingerprint(request: RuleRequest, idempotency_key: str | None) -> tuple[str | None, str]:
    """The key under which a request is remembered for the idempotency window (or None), and its body's hash.

    An Idempotency-Key header wins. Otherwise the body counts, but only when it holds no inline credential:
    nothing derived from a credential is ever stored, and a new credential must roll out, not be deduplicated.
    """
    body = request.model_dump(mode="json", exclude={"credentials"})
    body["skipsTemplate"] = request.skips_template
    body["hasInlineCredentials"] = request.credentials is not None
    body_hash = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    if idempotency_key:
        return "key:" + hashlib.sha256(idempotency_key.encode()).hexdigest(), body_hash
    if request.credentials is not None:
        return None, body_hash
    return "body:" + body_hash, body_hash


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def save_source_credentials(secrets: SecretStore, name: str, credentials: Credentials) -> SecretChange:
    """Keep inline credentials in the home region's source secret ``name`` without ever reading it back.

    The change record (ARN and prior version id) lets a rolled-back or refused rollout restore it.
    """
    value = credentials.secret_string()
    found = secrets.describe(name)
    if found is None:
        made = secrets.create(name, value, description="Upstream credentials given to pullthrough's API")
        return SecretChange(action="created", secretArn=made.arn, versionId=made.version_id)
    version, scheduled = found
    if scheduled:
        secrets.restore(version.arn)
    put = secrets.put(version.arn, value)
    return SecretChange(
        action="updated",
        secretArn=put.arn,
        versionId=put.version_id,
        priorVersionId=version.version_id,
        priorScheduledForDeletion=scheduled or None,
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
    executions: Executions | None = None  # FinishRollout runs without it (the state machine invokes it)
    home_secrets: SecretStore | None = None
    events: EventBus | None = None
    home_region: str = "us-east-1"
    source_prefix: str = SOURCE_SECRET_PREFIX

    def require_executions(self) -> Executions:
        if self.executions is None:
            raise RuntimeError("this function is not configured with STATE_MACHINE_ARN")
        return self.executions

    def check_source_secret(self, arn: str) -> None:
        """A named credential secret must be this account's, in the home region, under ecr-pullthroughcache/.

        Raises InvalidRequest naming ``credentialSecretArn`` otherwise (StoreSecret could not read it).
        """
        parts = arn.split(":")
        name = parts[6] if len(parts) > 6 else ""
        account = self.require_executions().account_id() if self.executions is not None else parts[4]
        if parts[3] != self.home_region or parts[4] != account or not name.startswith(SECRET_PREFIX):
            raise InvalidRequest(
                f"must name a secret of account {account} in {self.home_region} whose name starts with {SECRET_PREFIX}",
                field="credentialSecretArn",
            )
        if self.home_secrets is not None and self.home_secrets.describe(arn) is None:
            raise InvalidRequest("names a secret that does not exist", field="credentialSecretArn")

    def start(self, request: RuleRequest, *, idempotency_key: str | None = None) -> dict[str, Any]:
        """Roll ``request`` out: lock the prefix, store inline credentials, record the rollout, start it.

        A request seen within the idempotency window (same Idempotency-Key, or the same body when it carries
        no inline credential) returns the rollout it started. Raises PrefixBusy naming the running rollout.
        """
        key, body_hash = request_fingerprint(request, idempotency_key)
        if key is not None:
            seen = self.store.find_idempotent(key)
            if seen is not None:
                rollout_id, seen_hash = seen
                if idempotency_key and seen_hash != body_hash:
                    raise InvalidRequest("was used for a different request", field="Idempotency-Key")
                shown = self.view(rollout_id)
                # A finished rollout does not swallow the same body sent again (a retry after a rollback).
                if shown is not None and (idempotency_key or shown["status"] == "RUNNING"):
                    return shown
        request.check_account(self.require_executions().account_id())
        if request.credentialSecretArn is not None:
            self.check_source_secret(request.credentialSecretArn)
        rule = request.rule()
        prefix = rule.ecrRepositoryPrefix
        rollout_id = new_rollout_id()
        self._lock(prefix, rollout_id)
        try:
            source_arn = request.credentialSecretArn
            source_change = None
            if request.credentials is not None:
                assert self.home_secrets is not None, "inline credentials need the home-region secret store"
                name = self.source_prefix + prefix
                source_change = save_source_credentials(self.home_secrets, name, request.credentials)
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
            self._undo_start(prefix, rollout_id, source_change)
            raise
        if key is not None:
            self.store.remember_idempotent(key, rollout_id, body_hash, ttl_seconds=IDEMPOTENCY_WINDOW_SECONDS)
        return started

    def _undo_start(self, prefix: str, rollout_id: str, source_change: SecretChange | None) -> None:
        """A rollout that could not start changes nothing: desired rule and source secret back, record FAILED."""
        item = self.store.get_rollout(rollout_id)
        if item is not None:
            self._restore_desired(prefix, item)
            self.store.set_rollout_status(rollout_id, "FAILED", finishedAt=now_iso())
        elif source_change is not None and self.home_secrets is not None:
            restore_secret(source_change, self.home_secrets)
        self.store.release_lock(prefix, rollout_id)

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
            self._undo_start(prefix, rollout_id, None)
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
        self.require_executions().start(
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
            self.store.acquire_lock(prefix, rollout_id)
        except PrefixBusy as busy:
            # A crashed or finished execution must not keep the prefix locked until the lease runs out. A holder
            # with no execution yet is only stale once its lock is old: its rollout record and execution are
            # written after it takes the lock, so concurrent requests see neither for a moment.
            status = self.require_executions().status(busy.rollout_id)
            lock_age = time.time() - busy.since if busy.since is not None else float("inf")
            stale = status in TERMINAL or (status is None and lock_age > LOCK_GRACE_SECONDS)
            if not stale or not self.store.release_lock(prefix, busy.rollout_id):
                raise
            self.store.acquire_lock(prefix, rollout_id)

    def view(self, rollout_id: str) -> dict[str, Any] | None:
        """The rollout as GET /rollouts/{id} shows it; None when unknown."""
        item = self.store.get_rollout(rollout_id)
        if item is None:
            return None
        status = item["status"]
        if status == "RUNNING" and self.executions is not None:
            live = self.executions.status(rollout_id)
            never_started = live is None and _age(item.get("createdAt")) > LOCK_GRACE_SECONDS
            if live in ("FAILED", "TIMED_OUT", "ABORTED") or never_started:
                status = "FAILED"  # the execution died (or never began) before it could record its end
        return {
            "rolloutId": rollout_id,
            "status": status,
            "prefix": item.get("prefix"),
            "operation": item.get("operation", "APPLY"),
            "createdAt": item.get("createdAt"),
            "finishedAt": item.get("finishedAt"),
            **({"error": error_view(item["error"])} if item.get("error") else {}),
            "regions": {region: region_view(entry) for region, entry in sorted(item.get("regions", {}).items())},
        }

    def finish(
        self,
        rollout_id: str,
        prefix: str,
        region_results: list[dict[str, Any]],
        rollback_results: list[dict[str, Any]] | None = None,
        map_error: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Close a rollout: overall and per-region status, the desired rule, the lock, the Finished event.

        A rolled-back rollout also puts back the previous desired rule and the home-region source secret.
        """
        rolled_back = {r["region"]: r for r in rollback_results or []}
        item = self.store.get_rollout(rollout_id) or {}
        entries: dict[str, dict[str, Any]] = {}
        if not region_results:  # the region Map itself failed: start from what the regions recorded
            entries = {region: dict(entry) for region, entry in item.get("regions", {}).items()}
        for result in region_results:
            entries[result["region"]] = {
                "status": result["status"],
                "step": result.get("step"),
                "error": json.dumps(result.get("error") or {}),
            }
        for region, undo in rolled_back.items():
            entry = entries.setdefault(region, {"status": "FAILED", "step": None, "error": "{}"})
            if entry["status"] == "SKIPPED":
                continue  # never touched
            entry["status"] = undo["status"]  # the last word: ROLLED_BACK or ROLLBACK_FAILED
            if undo.get("error"):
                entry["rollbackError"] = json.dumps(undo["error"])
        statuses = {e["status"] for e in entries.values()}
        if rolled_back:
            status = "FAILED" if "ROLLBACK_FAILED" in statuses else "ROLLED_BACK"
        else:
            status = "SUCCEEDED" if statuses <= {"SUCCEEDED"} else "FAILED"

        operation = item.get("operation", "APPLY")
        summary = {
            "rolloutId": rollout_id,
            "prefix": prefix,
            "operation": operation,
            "status": status,
            "regions": {region: region_view(entry) for region, entry in sorted(entries.items())},
        }
        if map_error:
            summary["error"] = error_view(map_error)
        if item.get("status", "RUNNING") != "RUNNING":
            return summary | {"status": item["status"]}  # a retried call: its effects are done, the lock may be reused
        # Effects first (each safe to repeat), then the status, the event, and the lock last: until it is released no
        # other rollout can start on the prefix, so a retry after a partial failure cannot clobber a newer rollout.
        finished = now_iso()
        if status == "ROLLED_BACK":
            self._restore_desired(prefix, item)
        elif operation == "DELETE" and status == "SUCCEEDED":
            self.store.delete_rule(prefix)
            if self.home_secrets is not None:
                self.home_secrets.schedule_deletion(self.source_prefix + prefix)
        else:
            self.store.update_rule(prefix, lastRolloutStatus=status, lastRolloutAt=finished)
        if self.events is not None:
            self.events.emit(ROLLOUT_FINISHED, summary)
        extra = {"error": json.dumps(map_error)} if map_error else {}
        self.store.set_rollout_status(rollout_id, status, finishedAt=finished, regions=entries, **extra)
        self.store.release_lock(prefix, rollout_id)
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


def _age(iso: Any) -> float:
    """Seconds since an ISO timestamp; infinite when there is none."""
    if not isinstance(iso, str):
        return float("inf")
    return time.time() - datetime.fromisoformat(iso).timestamp()
