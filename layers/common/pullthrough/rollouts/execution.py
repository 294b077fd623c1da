"""The state machine's input for a rollout: the desired rule, its targets and options; ARNs only, never a
credential value."""

from __future__ import annotations

from typing import Any

# One account: the targets travel in the execution's input and one inline Map works them (its history shows every
# state). Several accounts: a Distributed Map starts one child execution per account, whose targets wait in DynamoDB,
# so that 1,000 accounts x 17 regions stay within Step Functions' 256 KB of state and 25,000 events per history.
ONE_ACCOUNT = "REGIONS"
ACCOUNTS = "ACCOUNTS"
ACCOUNT_CONCURRENCY = 20  # accounts worked on at once by default (StackSets' MaxConcurrentCount is 1 by default)
INLINE_MAP_CONCURRENCY = 40  # iterations an inline Map runs at once on AWS, whatever MaxConcurrency says


def execution_input(
    rollout_id: str,
    operation: str,
    desired: dict[str, Any],
    goals: list[dict[str, str]],
    *,
    home: str | None = None,
    max_concurrency: int | None = None,
    account_concurrency: int | None = None,
    failure_tolerance: int = 0,
    mode: str = "APPLY",
    inline_credentials: bool = False,
    settle_seconds: int = 35,
    drop_template: bool = False,
    adopt: bool = False,
    role_wait: dict[str, int] | None = None,
) -> dict[str, Any]:
    """The state machine's input: the desired rule, its targets and options; ARNs only, never a credential value.

    Targets of the home account alone travel as ``targets`` (scale REGIONS); targets in other accounts are stored
    per account before the execution starts and only the account ids travel (scale ACCOUNTS). ``role_wait``
    ({attempts, seconds}): how long each target of another account waits for its execution role (none by default).
    """
    accounts = list(dict.fromkeys(goal.get("account") or home for goal in goals))
    one_account = accounts in ([home], [None], [])
    at_once = min(max_concurrency or INLINE_MAP_CONCURRENCY, INLINE_MAP_CONCURRENCY)
    return {
        "rolloutId": rollout_id,
        "operation": operation,
        "mode": mode,
        "scale": ONE_ACCOUNT if one_account else ACCOUNTS,
        "rule": desired["rule"],
        "sourceSecretArn": desired.get("sourceSecretArn"),
        "inlineCredentials": inline_credentials,
        "creationTemplate": desired.get("creationTemplate"),
        "smokePull": desired.get("smokePull"),  # data only: the image to pull, never a credential
        "dropTemplate": drop_template,
        "adopt": adopt,
        "targets": [{"region": g["region"], "action": g["action"]} for g in goals] if one_account else [],
        "regions": [goal["region"] for goal in goals] if one_account else [],
        "accounts": [] if one_account else accounts,
        "rollout": {
            "maxConcurrency": max_concurrency or 0,
            "accountConcurrency": account_concurrency or ACCOUNT_CONCURRENCY,
            "failureTolerance": failure_tolerance,
            # The tolerance gate (a GetItem before each target's first read) stops targets that wait for a slot
            # (maxConcurrency, or more than an inline Map runs at once). When every target starts at once, all are
            # under way from the start (like StackSets with every account at once): none waits, none is gated, and
            # past the tolerance all are rolled back. A throttled first attempt that Step Functions retries is
            # under way too: it is not gated either.
            "checkTolerance": not (one_account and len(goals) <= at_once),
            "settleSeconds": settle_seconds,
            "roleWait": role_wait or {"attempts": 0, "seconds": 1},
        },
    }
