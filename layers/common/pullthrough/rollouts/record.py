"""Record a rollout about to start and, unless planning, the desired rule it aims at (the step before launch)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pullthrough.desired import deployed_regions, removal_targets, targets
from pullthrough.rollouts.deps import APPLY_MODE, PLAN, ROLE_WAIT_ATTEMPTS, Deps, now_iso
from pullthrough.rollouts.execution import ACCOUNTS, execution_input
from pullthrough.tasks import SecretChange

if TYPE_CHECKING:
    from pullthrough.rollout_options import RolloutOptions


@dataclass(frozen=True)
class Recorded:
    """A rollout recorded and ready to start: its execution's input and its targets."""

    rollout_id: str
    prefix: str
    operation: str
    mode: str
    payload: dict[str, Any]
    goals: list[dict[str, str]]


def record_rollout(
    deps: Deps,
    rollout_id: str,
    prefix: str,
    operation: str,
    desired: dict[str, Any],
    options: RolloutOptions | None,
    *,
    source_change: SecretChange | None = None,
    mode: str = APPLY_MODE,
    inline_credentials: bool = False,
    request_id: str | None = None,
    only_accounts: list[str] | None = None,
    adopt: bool = False,
) -> Recorded:
    """Record the rollout and, unless planning, the desired rule it aims at.

    The targets are every desired (account, region) plus every one the prefix is still held in; ``only_accounts``
    keeps those of some accounts only (an account that joined or left a targeted OU). ``options``: the request's
    RolloutOptions (None: all or nothing, default concurrency).
    """
    created = now_iso()
    home = deps.home_account
    previous = deps.store.get_rule(prefix)
    if operation == "DELETE":
        goals = removal_targets(previous or {}, home)
    else:
        goals = targets(list(desired["regions"]), previous, home, desired.get("targetAccounts"))
    if only_accounts is not None:
        goals = [goal for goal in goals if goal["account"] in only_accounts]
    failure_tolerance = options.tolerated_failures(len(goals)) if options is not None else 0
    payload = execution_input(
        rollout_id,
        operation,
        desired,
        goals,
        home=home,
        max_concurrency=options.maxConcurrency if options else None,
        account_concurrency=options.accountConcurrency if options else None,
        failure_tolerance=failure_tolerance,
        mode=mode,
        inline_credentials=inline_credentials,
        settle_seconds=deps.settle_seconds,
        role_wait={"attempts": ROLE_WAIT_ATTEMPTS, "seconds": deps.role_wait_seconds}
        if deps.trigger == "account"
        else None,
        drop_template=operation == "APPLY"
        and desired.get("creationTemplate") is None
        and bool((previous or {}).get("creationTemplate")),
        adopt=adopt,
    )
    across = payload["scale"] == ACCOUNTS
    if across:
        grouped: dict[str, list[dict[str, str]]] = {}
        for goal in goals:
            grouped.setdefault(goal["account"], []).append(goal)
        deps.store.put_account_targets(rollout_id, grouped)
    kept_previous = {k: v for k, v in (previous or {}).items() if k != "deployedElsewhere"}
    deps.store.put_rollout(
        {
            "rolloutId": rollout_id,
            "prefix": prefix,
            "operation": operation,
            "mode": mode,
            "scale": payload["scale"],
            "status": "RUNNING",
            "createdAt": created,
            "failedCount": 0,
            "failureTolerance": failure_tolerance,
            "targetCount": len(goals),
            "trigger": deps.trigger,
            "upstreamRegistry": desired["rule"].get("upstreamRegistry"),
            "regions": {}
            if across
            else {goal["region"]: {"status": "PENDING", "action": goal["action"], "changes": {}} for goal in goals},
            # What a rollback puts back besides the targets: the previous desired rule, the source secret.
            "previousRule": json.dumps(kept_previous) if previous and mode != PLAN else None,
            "sourceSecretChange": source_change.dumps() if source_change else None,
            "requestId": request_id,
        }
    )
    # The desired rule changes last before the execution starts: a start that fails before this point (the
    # account items, the rollout item) leaves the previous desired rule as it was (see undo_start).
    if mode != PLAN:
        carried = {
            "deployed": deployed_regions(previous) if previous else {},
            "deployedAccounts": (previous or {}).get("deployedAccounts") or [],
            **({"deployedCounts": previous["deployedCounts"]} if previous and previous.get("deployedCounts") else {}),
        }
        if operation == "DELETE":
            deps.store.update_rule(prefix, lastRolloutId=rollout_id, updatedAt=created)
        else:
            rule = desired | carried | {"lastRolloutId": rollout_id, "updatedAt": created}
            for kept in ("sourceSecretVersionId", "credentialExpiresAt"):  # bookkeeping, not requested
                if previous and previous.get(kept):
                    rule[kept] = previous[kept]
            deps.store.put_rule(prefix, rule)
    return Recorded(rollout_id, prefix, operation, mode, payload, goals)
