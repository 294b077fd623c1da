"""Finish a rollout (FinishRollout, called by the state machine): overall and per-target status, the desired rule,
the lock, the Finished event."""

from __future__ import annotations

import json
from typing import Any

from pullthrough.desired import by_account, deployed_after, failures, held_targets, previous_rule, source_version
from pullthrough.rollout_views import error_view, event_summary
from pullthrough.rollouts.deps import APPLY_MODE, PLAN, ROLLOUT_FINISHED, Deps, now_iso
from pullthrough.rollouts.execution import ACCOUNTS
from pullthrough.rollouts.outcomes import entries_of, outcomes, unrecorded_rollbacks, views
from pullthrough.rollouts.restore import restore_desired

# Target outcomes of a rollout that succeeded: SKIPPED is a region the account has not enabled (a target skipped past
# the failure tolerance comes with a failed one, and a rollback).
DONE = frozenset({"SUCCEEDED", "SKIPPED"})


def finish(
    deps: Deps,
    rollout_id: str,
    prefix: str,
    region_results: list[dict[str, Any]],
    rollback_results: list[dict[str, Any]] | None = None,
    map_error: dict[str, Any] | None = None,
    *,
    failure_tolerance: int = 0,
    after_rollback: bool = False,
) -> dict[str, Any]:
    """Close a rollout: overall and per-target status, the desired rule, the lock, the Finished event.

    Before any rollback, failures past ``failure_tolerance`` close nothing: the answer is ``rollback: True`` and
    the state machine rolls every target back, then calls again with ``after_rollback``. A target with no result
    after the Map of a rollout across accounts (its record was lost) counts as failed: all or nothing cannot
    assume it succeeded. A rolled-back rollout also puts back the previous desired rule and the home-region
    source secret. Safe to call again.
    """
    home = deps.home_account
    item = deps.store.get_rollout(rollout_id) or {"rolloutId": rollout_id}
    plan = item.get("mode") == PLAN
    across = item.get("scale") == ACCOUNTS
    results, undone = outcomes(deps, item, region_results, rollback_results)
    if not after_rollback and not plan:
        failed = failures(results)
        if across:  # no record of a target's end: all or nothing cannot count it done
            failed += sum(1 for r in results if r.get("status") == "PENDING")
        if failed > failure_tolerance:
            return {"rolloutId": rollout_id, "rollback": True}
    entries = entries_of(home, results, undone)
    if after_rollback and undone and across:
        unrecorded_rollbacks(entries)
    statuses = {e["status"] for e in entries.values()}
    if after_rollback:
        status = "ROLLED_BACK" if undone and "ROLLBACK_FAILED" not in statuses else "FAILED"
    elif plan:
        status = "PLANNED" if statuses <= DONE else "FAILED"
    else:
        status = "SUCCEEDED" if statuses <= DONE else "FAILED"

    operation = item.get("operation", "APPLY")
    summary: dict[str, Any] = {
        "rolloutId": rollout_id,
        "requestId": item.get("requestId"),
        "prefix": prefix,
        "operation": operation,
        "mode": item.get("mode", APPLY_MODE),
        "status": status,
        **views(home, entries),
    }
    if map_error:
        summary["error"] = error_view(map_error)
    if item.get("status", "RUNNING") != "RUNNING":
        # A retried call: its effects are done, the lock may be reused.
        return summary | {"status": item["status"], "rollback": False}
    # Effects first (each safe to repeat), then the status, the event, and the lock last: until it is released no
    # other rollout can start on the prefix, so a retry after a partial failure cannot clobber a newer rollout.
    finished = now_iso()
    if plan:
        pass  # a plan changes nothing but its own record
    elif status == "ROLLED_BACK" or (after_rollback and not region_results and not across):
        not_restored = [t for t, e in entries.items() if e["status"] == "ROLLBACK_FAILED"]
        restore_desired(deps, prefix, item, still_held=not_restored, ended=status)
    elif after_rollback and across and not undone:
        restore_desired(deps, prefix, item, still_held=list(entries), ended=status)  # the rollback did not run
    elif operation == "DELETE" and status == "SUCCEEDED":
        deps.store.delete_rule(prefix)
        if deps.home_secrets is not None:
            deps.home_secrets.schedule_deletion(deps.source_prefix + prefix)
    else:
        record_deployed(deps, prefix, item, results, rollout_id, status, finished)
    if deps.events is not None:
        deps.events.emit(ROLLOUT_FINISHED, event_summary(summary))
    extra: dict[str, Any] = {"error": json.dumps(map_error)} if map_error else {}
    if after_rollback and undone and across:
        extra["rollbackRecorded"] = True  # GET /rollouts/{id} judges each page's targets as above
    home_entries = {region: e for (account, region), e in entries.items() if account == home}
    deps.store.set_rollout_status(rollout_id, status, finishedAt=finished, regions=home_entries, **extra)
    if deps.metrics is not None:  # once: a retried call returned above
        deps.metrics.finished(item, summary, finished)
    if not plan:
        deps.store.release_lock(prefix, rollout_id)
    return summary | {"rollback": False}


def record_deployed(
    deps: Deps,
    prefix: str,
    rollout: dict[str, Any],
    results: list[dict[str, Any]],
    rollout_id: str,
    status: str,
    finished: str,
) -> None:
    """The desired rule learns where the prefix is now held, with each regional secret's version."""
    home = deps.home_account
    current = deps.store.get_rule(prefix)
    base = current if current is not None else previous_rule(rollout)
    after = by_account(deployed_after(held_targets(base, home), results, rollout_id, home))
    fields: dict[str, Any] = {"lastRolloutStatus": status, "lastRolloutAt": finished}
    version = source_version(results)
    if version:
        fields["sourceSecretVersionId"] = version
    before = (base or {}).get("deployedElsewhere") or {}
    deps.store.save_deployed(prefix, after.pop(home, {}), after, before, **fields)
