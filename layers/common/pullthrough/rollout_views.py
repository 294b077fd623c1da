"""How a rollout is shown: per-target entries as the table keeps them, as the API shows them, and as the Finished
event carries them (pure functions, no AWS)."""

from __future__ import annotations

import json
from typing import Any

from pullthrough.desired import Target

EVENT_TARGETS_MAX = 200  # targets listed in a Finished event (EventBridge entries are at most 256 KB): the others
# are counted in targetCounts and listed by GET /rollouts/{id}


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


def region_entry(result: dict[str, Any]) -> dict[str, Any]:
    """A region's result (from the Map, or its progress record) as the rollout item keeps it."""
    if "detail" in result:  # the state machine's progress record: the result as JSON
        result = json.loads(result["detail"])
    return {
        "status": result.get("status", "PENDING"),
        "action": result.get("action"),
        "step": result.get("step") or None,
        "error": json.dumps(result.get("error") or {}),
        "changes": result.get("changes") or {},
    }


def target_results(item: dict[str, Any], home: str) -> tuple[list[dict[str, Any]], dict[Target, dict[str, Any]]]:
    """A rollout across accounts as its account items recorded it: every target's result (the state machine's
    record, or a PENDING placeholder when none arrived) and each rollback outcome by target."""
    results: list[dict[str, Any]] = []
    undone: dict[Target, dict[str, Any]] = {}
    account = str(item["sk"]).removeprefix("ACCOUNT#")
    for region, entry in (item.get("regions") or {}).items():
        result = json.loads(entry["detail"]) if "detail" in entry else {"status": entry.get("status", "PENDING")}
        results.append({"action": entry.get("action"), **result, "account": account, "region": region})
    for region, entry in (item.get("rollback") or {}).items():
        outcome = json.loads(entry["detail"]) if "detail" in entry else entry
        undone[(account, region)] = {"status": outcome.get("status"), "error": outcome.get("error")}
    return results, undone


def target_view(target: Target, entry: dict[str, Any]) -> dict[str, Any]:
    """A target's entry as the API shows it in ``targets``."""
    return {"account": target[0], "region": target[1], **region_view(entry)}


def with_rollback(entries: dict[Target, dict[str, Any]], undone: dict[Target, dict[str, Any]]) -> None:
    """Each rolled-back target's status becomes the rollback's outcome (ROLLED_BACK or ROLLBACK_FAILED)."""
    for target, undo in undone.items():
        entry = entries.setdefault(target, {"status": "FAILED", "step": None, "error": "{}", "changes": {}})
        if entry["status"] == "SKIPPED":
            continue  # never touched (a PENDING one may have been: its record had not been written yet)
        entry["status"] = undo["status"]
        if undo.get("error"):
            entry["rollbackError"] = json.dumps(undo["error"])


def region_view(entry: dict[str, Any]) -> dict[str, Any]:
    """A region's entry as the API shows it: status, step (null when none), error, and what changed."""
    if "detail" in entry:
        entry = region_entry(entry)
    step = entry.get("step")
    view = {
        "status": entry.get("status", "PENDING"),
        "step": step if step not in (None, "", "None") else None,
        "error": error_view(entry.get("error")),
        "changes": entry.get("changes") or {},
    }
    if entry.get("action") == "REMOVE":
        view["removed"] = True  # the region is no longer desired: the rollout takes the prefix out of it
    if entry.get("rollbackError"):
        view["rollbackError"] = error_view(entry["rollbackError"])
    return view


def event_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """A rollout's summary as its Finished event carries it: every target when they fit in an EventBridge entry
    (EVENT_TARGETS_MAX), else the ones that did not succeed first; ``targetCounts`` counts them all by status."""
    listed = summary.get("targets") or []
    counts: dict[str, int] = {}
    for target in listed:
        counts[target["status"]] = counts.get(target["status"], 0) + 1
    if len(listed) > EVENT_TARGETS_MAX:
        listed = sorted(listed, key=lambda t: t["status"] == "SUCCEEDED")[:EVENT_TARGETS_MAX]
    return summary | {"targets": listed, "targetCounts": counts}
