"""Close a rollout that could not finish (the state machine's last resort, or recovery of a plan)."""

from __future__ import annotations

import json
from typing import Any

from pullthrough import exceptions as ex
from pullthrough.rollout_views import error_view, event_summary
from pullthrough.rollouts.deps import APPLY_MODE, PLAN, ROLLOUT_FINISHED, Deps, now_iso
from pullthrough.rollouts.outcomes import entries_of, outcomes, views
from pullthrough.rollouts.restore import restore_desired


def close(deps: Deps, rollout_id: str, prefix: str, error: dict[str, Any] | None) -> dict[str, Any]:
    """The last resort when finishing failed for good (after the rollback ran): record FAILED with the reason,
    emit Finished, release the lock. The previous desired rule and source secret are put back if that works;
    every target of the rollout stays tracked, so the next rollout converges whatever it left. Safe to repeat."""
    item = deps.store.get_rollout(rollout_id)
    if item is None or item.get("status") != "RUNNING":
        return {"rolloutId": rollout_id, "closed": False}
    home = deps.home_account
    entries = entries_of(home, *outcomes(deps, item))
    if item.get("mode") != PLAN:
        try:
            restore_desired(deps, prefix, item, still_held=sorted(entries), ended="FAILED")
        except ex.PullthroughError as failure:  # whatever failed finishing may fail here too: close anyway
            error = (error or {}) | {"RestoreError": f"{type(failure).__name__}: {failure.message}"[:500]}
    summary = {
        "rolloutId": rollout_id,
        "requestId": item.get("requestId"),
        "prefix": prefix,
        "operation": item.get("operation", "APPLY"),
        "mode": item.get("mode", APPLY_MODE),
        "status": "FAILED",
        "error": error_view(error) or {"type": "RolloutNotFinished", "message": "the rollout could not finish"},
        **views(home, entries),
    }
    if deps.events is not None:
        deps.events.emit(ROLLOUT_FINISHED, event_summary(summary))
    closed = now_iso()
    deps.store.set_rollout_status(rollout_id, "FAILED", finishedAt=closed, error=json.dumps(error or {}))
    if deps.metrics is not None:
        deps.metrics.finished(item, summary, closed)
    if item.get("mode") != PLAN:
        deps.store.release_lock(prefix, rollout_id)
    return {"rolloutId": rollout_id, "closed": True}
