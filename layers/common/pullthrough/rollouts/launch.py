"""Launch a recorded rollout's execution; a start that fails on the way is undone: nothing half-applied."""

from __future__ import annotations

from typing import Any

from pullthrough.paging import PAGE_SIZE
from pullthrough.rollout_views import region_view, target_view
from pullthrough.rollouts.deps import Deps, now_iso
from pullthrough.rollouts.lock import lock
from pullthrough.rollouts.record import Recorded, record_rollout
from pullthrough.rollouts.restore import restore_desired
from pullthrough.steps.secret import restore_secret
from pullthrough.tasks import SecretChange


def launch(deps: Deps, recorded: Recorded) -> dict[str, Any]:
    """Start the recorded rollout's execution (input: ARNs only); the rollout as the API shows it, every target
    pending: listed when they fit in a page, else only counted (GET /rollouts/{id} pages them)."""
    deps.require_executions().start(recorded.rollout_id, recorded.payload)
    if deps.metrics is not None:
        deps.metrics.started(recorded.rollout_id, recorded.prefix, deps.trigger)
    home = deps.home_account
    pending = {(g["account"], g["region"]): {"action": g["action"]} for g in recorded.goals}
    listed = len(pending) <= PAGE_SIZE
    return {
        "rolloutId": recorded.rollout_id,
        "status": "RUNNING",
        "prefix": recorded.prefix,
        "operation": recorded.operation,
        "mode": recorded.mode,
        "regions": {r: region_view(entry) for (a, r), entry in pending.items() if a == home},
        **({"targets": [target_view(target, entry) for target, entry in pending.items()]} if listed else {}),
        "targetCounts": {"PENDING": len(pending)} if pending else {},
    }


def undo_start(deps: Deps, prefix: str, rollout_id: str, source_change: SecretChange | None) -> None:
    """A rollout that could not start changes nothing: desired rule and source secret back, record FAILED, lock
    released."""
    item = deps.store.get_rollout(rollout_id)
    if item is not None:
        restore_desired(deps, prefix, item)
        deps.store.set_rollout_status(rollout_id, "FAILED", finishedAt=now_iso())
    elif source_change is not None and deps.home_secrets is not None:
        restore_secret(source_change, deps.home_secrets)
    deps.store.release_lock(prefix, rollout_id)


def locked_launch(
    deps: Deps, rollout_id: str, prefix: str, operation: str, desired: dict[str, Any], **options: Any
) -> dict[str, Any]:
    """Lock the prefix, record the rollout and launch it, all or nothing (no request: a delete, an account event)."""
    lock(deps, prefix, rollout_id)
    try:
        return launch(deps, record_rollout(deps, rollout_id, prefix, operation, desired, None, **options))
    except BaseException:
        undo_start(deps, prefix, rollout_id, None)
        raise
