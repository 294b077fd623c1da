"""The state machine's input: whether targets pass the tolerance gate (a GetItem each) before their first read."""

from __future__ import annotations

import pytest

from pullthrough.desired import targets
from pullthrough.rollouts.execution import INLINE_MAP_CONCURRENCY, execution_input

HOME = "111111111111"
OTHER = "222222222222"
RULE = {"rule": {"ecrRepositoryPrefix": "quay"}, "sourceSecretArn": None, "creationTemplate": None}


def regions(count: int) -> list[str]:
    return [f"xx-test-{n}" for n in range(1, count + 1)]


def gate(regions_: list[str], *, max_concurrency: int | None = None, accounts: list[str] | None = None) -> bool:
    goals = targets(regions_, None, HOME, accounts)
    payload = execution_input("r-1", "APPLY", RULE, goals, home=HOME, max_concurrency=max_concurrency)
    return bool(payload["rollout"]["checkTolerance"])


@pytest.mark.parametrize(
    ("count", "max_concurrency"),
    [(1, None), (4, None), (34, None), (INLINE_MAP_CONCURRENCY, None), (4, 4), (4, 10), (4, 0)],
)
def test_targets_that_all_start_at_once_skip_the_gate(count: int, max_concurrency: int | None) -> None:
    assert gate(regions(count), max_concurrency=max_concurrency) is False


@pytest.mark.parametrize(
    ("count", "max_concurrency"),
    [(2, 1), (34, 10), (INLINE_MAP_CONCURRENCY + 1, None), (INLINE_MAP_CONCURRENCY + 1, 40)],
)
def test_targets_that_wait_for_a_free_slot_pass_the_gate(count: int, max_concurrency: int | None) -> None:
    """maxConcurrency below the targets, or more targets than an inline Map runs at once on AWS (40)."""
    assert gate(regions(count), max_concurrency=max_concurrency) is True


def test_a_rollout_across_accounts_keeps_the_gate() -> None:
    """Accounts start accountConcurrency at a time, each child as its own execution: a later one may follow a
    failure."""
    assert gate(regions(2), accounts=[HOME, OTHER]) is True


def test_only_a_rollout_for_an_account_that_joined_waits_for_its_execution_role() -> None:
    goals = targets(regions(2), None, HOME, [OTHER])
    plain = execution_input("r-1", "APPLY", RULE, goals, home=HOME)
    joined = execution_input("r-1", "APPLY", RULE, goals, home=HOME, role_wait={"attempts": 15, "seconds": 60})
    assert plain["rollout"]["roleWait"] == {"attempts": 0, "seconds": 1}
    assert joined["rollout"]["roleWait"] == {"attempts": 15, "seconds": 60}
