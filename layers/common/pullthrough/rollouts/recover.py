"""Recover a rollout whose execution ended early (FAILED, TIMED_OUT, ABORTED) without finishing it."""

from __future__ import annotations

from typing import Any

from pullthrough import exceptions as ex
from pullthrough.adapters.workflow import ENDED_EARLY, RECOVERY_SUFFIX
from pullthrough.rollouts.close import close
from pullthrough.rollouts.deps import PLAN, Deps


def recover(deps: Deps, execution_name: str, status: str, cause: str | None = None) -> dict[str, Any]:
    """The rollout's own execution gets a recovery execution that restores every region's snapshot and finishes
    (rolled back); a plan, or a recovery that itself ended early, is closed as FAILED. Nothing to do for a
    rollout already final. Safe to call again (one recovery execution per rollout, by name).
    """
    is_recovery = execution_name.endswith(RECOVERY_SUFFIX)
    rollout_id = execution_name.removesuffix(RECOVERY_SUFFIX)
    item = deps.store.get_rollout(rollout_id)
    if item is None or item.get("status") != "RUNNING" or status not in ENDED_EARLY:
        return {"rolloutId": rollout_id, "action": "none"}
    error = {"Error": f"Execution{status.title().replace('_', '')}", "Cause": (cause or "")[:1000]}
    executions = deps.require_executions()
    if is_recovery or item.get("mode") == PLAN:
        close(deps, rollout_id, str(item.get("prefix")), error)
        return {"rolloutId": rollout_id, "action": "closed"}
    payload = executions.input_of(rollout_id) | {"recover": True, "mapError": error}
    try:
        executions.start(rollout_id + RECOVERY_SUFFIX, payload)
    except ex.ConcurrentModification:
        return {"rolloutId": rollout_id, "action": "none"}  # a duplicate event: the recovery already started
    return {"rolloutId": rollout_id, "action": "recovering"}
