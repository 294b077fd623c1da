"""View a rollout (GET /rollouts/{id}): its status and every target's progress or outcome; and the desired rules
(GET /rules, GET /rules/{prefix})."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from pullthrough.adapters.workflow import ENDED_EARLY
from pullthrough.desired import rule_view
from pullthrough.rollout_views import error_view
from pullthrough.rollouts.deps import APPLY_MODE, LOCK_GRACE_SECONDS, Deps
from pullthrough.rollouts.execution import ACCOUNTS
from pullthrough.rollouts.outcomes import entries_of, outcomes, unrecorded_rollbacks, views


def view(deps: Deps, rollout_id: str) -> dict[str, Any] | None:
    """The rollout as GET /rollouts/{id} shows it; None when unknown."""
    item = deps.store.get_rollout(rollout_id)
    if item is None:
        return None
    home = deps.home_account
    status = item["status"]
    if status == "RUNNING" and deps.executions is not None:
        live = deps.executions.status(rollout_id)
        never_started = live is None and _age(item.get("createdAt")) > LOCK_GRACE_SECONDS
        if live in ENDED_EARLY or never_started:
            status = "FAILED"  # the execution died (or never began) before it could record its end
    if item.get("scale") == ACCOUNTS:
        results, undone = outcomes(deps, item)
        entries = entries_of(home, results, undone)
        if undone and item["status"] != "RUNNING":  # as FinishRolledBack judged it
            unrecorded_rollbacks(entries)
    else:  # the rollout item's entries: progress, then (once finished) the final ones, rollback included
        entries = {(home, r): e for r, e in (item.get("regions") or {}).items()}
    return {
        "rolloutId": rollout_id,
        "status": status,
        "prefix": item.get("prefix"),
        "operation": item.get("operation", "APPLY"),
        "mode": item.get("mode", APPLY_MODE),
        "createdAt": item.get("createdAt"),
        "finishedAt": item.get("finishedAt"),
        **({"error": error_view(item["error"])} if item.get("error") else {}),
        **views(home, entries),
    }


def _age(iso: Any) -> float:
    """Seconds since an ISO timestamp; infinite when there is none."""
    if not isinstance(iso, str):
        return float("inf")
    return time.time() - datetime.fromisoformat(iso).timestamp()


def rule_views(deps: Deps) -> list[dict[str, Any]]:
    """Every desired rule as GET /rules shows it."""
    return [rule_view(item, deps.home_account) for item in deps.store.list_rules()]


def rule_of(deps: Deps, prefix: str) -> dict[str, Any] | None:
    """The desired rule of ``prefix`` as GET /rules/{prefix} shows it; None when there is none."""
    found = deps.store.get_rule(prefix)
    return None if found is None else rule_view(found, deps.home_account)
