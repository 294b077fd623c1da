"""Every target's outcome of a rollout, as the view, finish and close read them, and the views the API shows."""

from __future__ import annotations

import json
from typing import Any

from pullthrough.desired import Target, target_of
from pullthrough.rollout_views import region_entry, region_view, target_results, target_view, with_rollback
from pullthrough.rollouts.deps import Deps
from pullthrough.rollouts.execution import ACCOUNTS

NOT_ROLLED_BACK = json.dumps(
    {"Error": "RollbackNotRecorded", "Cause": "no rollback outcome was recorded for this target: it may hold anything"}
)


def outcomes(
    deps: Deps,
    item: dict[str, Any],
    region_results: list[dict[str, Any]] | None = None,
    rollback_results: list[dict[str, Any]] | None = None,
) -> tuple[list[dict[str, Any]], dict[Target, dict[str, Any]]]:
    """Every target's result and each rollback outcome. One account: the Map's output (``region_results``,
    ``rollback_results``), else the rollout item's progress records. Several: the account items."""
    home = deps.home_account
    if item.get("scale") == ACCOUNTS:
        results: list[dict[str, Any]] = []
        undone: dict[Target, dict[str, Any]] = {}
        for account_item in deps.store.account_items(str(item["rolloutId"])):
            found, undid = target_results(account_item, home)
            results.extend(found)
            undone.update(undid)
        return results, undone
    if not region_results:  # the region Map itself failed (or the rollout is running): what the regions recorded
        region_results = [
            {**(json.loads(e["detail"]) if "detail" in e else e), "region": region}
            for region, e in (item.get("regions") or {}).items()
        ]
    return region_results, {target_of(r, home): r for r in rollback_results or []}


def entries_of(
    home: str, results: list[dict[str, Any]], undone: dict[Target, dict[str, Any]]
) -> dict[Target, dict[str, Any]]:
    """Each target's entry (as the rollout item records it), its rollback outcome included."""
    entries = {target_of(result, home): region_entry(result) for result in results}
    with_rollback(entries, undone)
    return entries


def views(home: str, entries: dict[Target, dict[str, Any]]) -> dict[str, Any]:
    """``regions`` (the home account's targets, by region) and ``targets`` (every one) as the API shows them."""
    ordered = sorted(entries.items())
    return {
        "regions": {region: region_view(e) for (account, region), e in ordered if account == home},
        "targets": [target_view(target, e) for target, e in ordered],
        **pull_digests(ordered),
    }


def pull_digests(ordered: list[tuple[Target, dict[str, Any]]]) -> dict[str, Any]:
    """``pullDigests`` ({digest: ["account/region", ...]}) when the smoke pull read more than one digest; else {}."""
    found: dict[str, list[str]] = {}
    for (account, region), entry in ordered:
        digest = (entry.get("changes") or {}).get("pull")
        if isinstance(digest, str) and digest.startswith("sha256:"):
            found.setdefault(digest, []).append(f"{account}/{region}")
    return {"pullDigests": found} if len(found) > 1 else {}


def unrecorded_rollbacks(entries: dict[Target, dict[str, Any]]) -> None:
    """After a rollback across accounts, a target that may have been written (SUCCEEDED, or PENDING: no result came)
    but has no recorded rollback outcome (its account's rollback child failed, or its record was lost) is not known
    to be put back: ROLLBACK_FAILED, so the rollout ends FAILED and the target stays tracked."""
    for entry in entries.values():
        if entry["status"] in ("SUCCEEDED", "PENDING"):
            entry["status"] = "ROLLBACK_FAILED"
            entry["rollbackError"] = NOT_ROLLED_BACK
