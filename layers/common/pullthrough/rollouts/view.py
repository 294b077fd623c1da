"""View a rollout (GET /rollouts/{id}): its status and every target's progress or outcome; and the desired rules
(GET /rules, GET /rules/{prefix})."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from pullthrough.adapters.workflow import ENDED_EARLY
from pullthrough.desired import deployed_regions, rule_view, target_health
from pullthrough.paging import Read, page, stored_page
from pullthrough.regions import pull_uri_prefix
from pullthrough.rollout_views import error_view, region_view, target_results, target_view
from pullthrough.rollouts.deps import APPLY_MODE, LOCK_GRACE_SECONDS, Deps
from pullthrough.rollouts.execution import ACCOUNTS
from pullthrough.rollouts.outcomes import entries_of, unrecorded_rollbacks, views

READ_ACCOUNTS = 25  # account items per Query while filling a page (each holds up to ~30 targets)


def view(deps: Deps, rollout_id: str, next_token: str | None = None) -> dict[str, Any] | None:
    """The rollout as GET /rollouts/{id} shows it: ``regions`` (the home account's targets), a page of ``targets``
    (``next_token``: the page a nextToken points to; ``nextToken`` when more follow); None when unknown."""
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
        shown = _accounts_page(deps, item, next_token)
    else:  # the rollout item's entries: progress, then (once finished) the final ones, rollback included
        entries = {(home, r): e for r, e in (item.get("regions") or {}).items()}
        every = views(home, entries)
        listed, more = page(
            f"rollout:{rollout_id}", [((t["account"], t["region"]), t) for t in every["targets"]], next_token
        )
        shown = {"regions": every["regions"], "targets": listed, **({"nextToken": more} if more else {})}
    return {
        "rolloutId": rollout_id,
        "status": status,
        "prefix": item.get("prefix"),
        "operation": item.get("operation", "APPLY"),
        "mode": item.get("mode", APPLY_MODE),
        "createdAt": item.get("createdAt"),
        "finishedAt": item.get("finishedAt"),
        **({"error": error_view(item["error"])} if item.get("error") else {}),
        **shown,
    }


def _accounts_page(deps: Deps, item: dict[str, Any], next_token: str | None) -> dict[str, Any]:
    """A rollout across accounts: ``regions`` (the home account's item) and the page of ``targets`` the token
    points to, read from the account items that page needs."""
    home, rollout_id = deps.home_account, str(item["rolloutId"])
    pk = f"ROLLOUT#{rollout_id}"
    ended = item["status"] != "RUNNING"

    def targets_of(account_item: dict[str, Any]) -> list[tuple[tuple[str, str], dict[str, Any]]]:
        results, undone = target_results(account_item, home)
        entries = entries_of(home, results, undone)
        if ended and (undone or item.get("rollbackRecorded") or item["status"] == "ROLLED_BACK"):  # as finish judged
            unrecorded_rollbacks(entries)
        return sorted(entries.items())

    found, _ = deps.store.items_from(pk, f"ACCOUNT#{home}", inclusive=True, limit=1)
    own = targets_of(found[0]) if found and found[0]["sk"] == f"ACCOUNT#{home}" else []
    listed, more = stored_page(
        f"rollout:{rollout_id}",
        next_token,
        _reader(deps, pk),
        "ACCOUNT#",
        lambda i: [(t, target_view(t, e)) for t, e in targets_of(i)],
    )
    return {
        "regions": {region: region_view(e) for (_, region), e in own},
        "targets": listed,
        **({"nextToken": more} if more else {}),
    }


def _age(iso: Any) -> float:
    """Seconds since an ISO timestamp; infinite when there is none."""
    if not isinstance(iso, str):
        return float("inf")
    return time.time() - datetime.fromisoformat(iso).timestamp()


def _reader(deps: Deps, pk: str) -> Read:
    """Reads a few items of partition ``pk`` at a time for ``stored_page``."""

    def read(start: str, inclusive: bool) -> tuple[list[dict[str, Any]], bool]:
        return deps.store.items_from(pk, start, inclusive=inclusive, limit=READ_ACCOUNTS)

    return read


def rule_views(deps: Deps) -> list[dict[str, Any]]:
    """Every desired rule as GET /rules shows it."""
    return [rule_view(item, deps.home_account) for item in deps.store.list_rules(elsewhere_counted=True)]


def rule_of(deps: Deps, prefix: str, next_token: str | None = None) -> dict[str, Any] | None:
    """The desired rule of ``prefix`` as GET /rules/{prefix} shows it, with a page of ``deployedTargets`` (each with
    its pull URI prefix; ``next_token``: the page a nextToken points to): the home account's first, then the other
    accounts' in order, read a few accounts at a time. None when there is none."""
    found = deps.store.get_rule(prefix, elsewhere=False)
    if found is None:
        return None
    if not isinstance(found.get("deployedCounts"), dict) and found.get("deployedAccounts"):
        found = deps.store.get_rule(prefix) or found  # recorded before its counts were: counted from every account
    home = deps.home_account
    verdicts = target_health(found.get("health"))

    def shown(account: str, regions: Any) -> list[tuple[tuple[str, str], dict[str, Any]]]:
        return [
            (
                (account, r),
                {"account": account, "region": r, "pullUriPrefix": pull_uri_prefix(account, r, prefix)}
                | ({"health": verdicts[(account, r)]} if (account, r) in verdicts else {}),
            )
            for r in sorted(regions)
        ]

    listed, more = stored_page(
        f"rule:{prefix}",
        next_token,
        _reader(deps, f"DEPLOYED#{prefix}"),
        "",
        lambda item: shown(str(item["sk"]), item.get("regions") or {}),
        first=shown(home, deployed_regions(found)),
    )
    view = rule_view(found, home) | {"deployedTargets": listed}
    return view | ({"nextToken": more} if more else {})
