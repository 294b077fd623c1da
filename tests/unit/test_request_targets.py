"""Many accounts in a rule request: accounts, organizationalUnits, retainOnAccountRemoval and StackSets-like rollout
options. Today's requests keep their meaning; every refusal names the field (and the item) at fault."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pullthrough.exceptions import InvalidRequest
from pullthrough.models import RuleRequest, parse_model
from pullthrough.rollout_options import DEFAULT_ACCOUNT_CONCURRENCY, RolloutOptions
from pullthrough.targets import requested_accounts

HOME_ACCOUNT = "123456789012"
account_ids = st.from_regex(r"\d{12}", fullmatch=True)
ou_ids = st.from_regex(r"ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}", fullmatch=True) | st.from_regex(
    r"r-[0-9a-z]{4,32}", fullmatch=True
)


def body(**fields: Any) -> dict[str, Any]:
    return {"upstreamRegistry": "quay", "regions": ["us-east-1", "eu-west-1"], **fields}


def refused(data: dict[str, Any]) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as err:
        parse_model(RuleRequest, data)
    assert err.value.field and err.value.errors and err.value.errors[0]["field"] == err.value.field
    return err.value


class OrganizationOf:
    """Organizations as the request sees it (OrganizationReader): accounts per OU; records what it was asked."""

    def __init__(self, units: dict[str, list[str]]) -> None:
        self.units = units
        self.asked: list[str] = []

    def accounts_in(self, parent_ids: Iterable[str]) -> list[str]:
        ids = list(parent_ids)
        self.asked += ids
        return sorted({account for unit in ids for account in self.units[unit]})


def test_a_request_of_today_targets_the_home_account_with_the_defaults_of_today() -> None:
    request = parse_model(RuleRequest, body())
    assert (request.accounts, request.organizationalUnits, request.retainOnAccountRemoval) == (None, None, False)
    assert request.rollout.tolerated_failures(17) == 0
    assert request.rollout.accountConcurrency == DEFAULT_ACCOUNT_CONCURRENCY
    org = OrganizationOf({})
    assert requested_accounts(request, HOME_ACCOUNT, org) == [HOME_ACCOUNT]
    assert org.asked == []


def test_targets_are_the_accounts_and_the_ous_accounts_sorted_once_each() -> None:
    org = OrganizationOf({"ou-ab12-abcdefgh": ["222222222222", "111111111111"], "r-ab12": ["111111111111"]})
    request = parse_model(
        RuleRequest, body(accounts=["333333333333", "111111111111"], organizationalUnits=["ou-ab12-abcdefgh", "r-ab12"])
    )
    assert requested_accounts(request, HOME_ACCOUNT, org) == ["111111111111", "222222222222", "333333333333"]
    assert HOME_ACCOUNT not in requested_accounts(request, HOME_ACCOUNT, org)  # only when asked for


def test_ous_alone_may_hold_no_account_yet() -> None:
    request = parse_model(RuleRequest, body(organizationalUnits=["ou-ab12-abcdefgh"]))
    assert requested_accounts(request, HOME_ACCOUNT, OrganizationOf({"ou-ab12-abcdefgh": []})) == []


@given(good=st.lists(account_ids, max_size=5, unique=True), bad=st.text(max_size=14), at=st.integers(0, 5))
def test_a_malformed_account_id_is_named_by_its_position(good: list[str], bad: str, at: int) -> None:
    if bad.isascii() and bad.isdigit() and len(bad) == 12:
        return
    at = min(at, len(good))
    error = refused(body(accounts=[*good[:at], bad, *good[at:]]))
    assert error.field == f"accounts.{at}"
    assert error.errors == [{"field": f"accounts.{at}", "message": "must be a 12-digit AWS account id"}]


@given(good=st.lists(ou_ids, max_size=5, unique=True), bad=st.text(max_size=70), at=st.integers(0, 5))
def test_a_malformed_ou_id_is_named_by_its_position(good: list[str], bad: str, at: int) -> None:
    if re.fullmatch(r"ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32}", bad):
        return
    at = min(at, len(good))
    error = refused(body(organizationalUnits=[*good[:at], bad, *good[at:]]))
    assert error.field == f"organizationalUnits.{at}"
    assert error.errors[0]["message"].startswith("must be an OU id (ou-")


@given(ids=st.lists(account_ids, min_size=1, max_size=6, unique=True), data=st.data())
def test_a_repeated_account_names_the_repeat_and_the_first(ids: list[str], data: st.DataObject) -> None:
    first = data.draw(st.integers(0, len(ids) - 1))
    repeat = data.draw(st.integers(first + 1, len(ids)))
    listed = [*ids[:repeat], ids[first], *ids[repeat:]]
    error = refused(body(accounts=listed))
    assert (error.field, error.message) == (f"accounts.{repeat}", f"repeats accounts.{first}")


@given(ids=st.lists(ou_ids, min_size=1, max_size=6, unique=True), data=st.data())
def test_a_repeated_ou_names_the_repeat_and_the_first(ids: list[str], data: st.DataObject) -> None:
    first = data.draw(st.integers(0, len(ids) - 1))
    repeat = data.draw(st.integers(first + 1, len(ids)))
    error = refused(body(organizationalUnits=[*ids[:repeat], ids[first], *ids[repeat:]]))
    assert (error.field, error.message) == (f"organizationalUnits.{repeat}", f"repeats organizationalUnits.{first}")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"accounts": []}, "accounts"),
        ({"accounts": [f"{n:012d}" for n in range(1001)]}, "accounts"),
        ({"accounts": "123456789012"}, "accounts"),
        ({"accounts": [123456789012]}, "accounts.0"),
        ({"organizationalUnits": []}, "organizationalUnits"),
        ({"organizationalUnits": [f"r-{n:04d}" for n in range(101)]}, "organizationalUnits"),
        ({"organizationalUnits": ["OU-AB12-ABCDEFGH"]}, "organizationalUnits.0"),
        ({"organizationalUnits": ["ou-ab1-abcdefgh"]}, "organizationalUnits.0"),
        ({"retainOnAccountRemoval": "yes"}, "retainOnAccountRemoval"),
        ({"retainOnAccountRemoval": 1}, "retainOnAccountRemoval"),
        ({"rollout": {"accountConcurrency": 0}}, "rollout.accountConcurrency"),
        ({"rollout": {"accountConcurrency": 1001}}, "rollout.accountConcurrency"),
        ({"rollout": {"maxConcurrency": 41}}, "rollout.maxConcurrency"),
    ],
)
def test_bad_target_fields_are_named(fields: dict[str, Any], field: str) -> None:
    assert refused(body(**fields)).field == field


@given(percentage=st.integers(-1000, 1000))
def test_a_percentage_outside_0_to_100_is_refused(percentage: int) -> None:
    data = body(rollout={"failureTolerancePercentage": percentage})
    if 0 <= percentage <= 100:
        assert parse_model(RuleRequest, data).rollout.failureTolerancePercentage == percentage
    else:
        error = refused(data)
        assert error.field == "rollout.failureTolerancePercentage"
        assert error.errors[0]["message"] in ("must be at least 0", "must be at most 100")


@given(count=st.integers(1, 50), percentage=st.integers(0, 100), count_first=st.booleans())
def test_a_count_and_a_percentage_together_are_refused_naming_the_percentage(
    count: int, percentage: int, count_first: bool
) -> None:
    options = {"failureTolerance": count, "failureTolerancePercentage": percentage}
    if not count_first:
        options = dict(reversed(options.items()))
    error = refused(body(rollout=options))
    assert error.field == "rollout.failureTolerancePercentage"
    assert error.errors[0]["message"] == "give failureTolerance or failureTolerancePercentage, not both"


def test_a_zero_count_goes_with_a_percentage() -> None:
    rollout = parse_model(RuleRequest, body(rollout={"failureTolerance": 0, "failureTolerancePercentage": 10})).rollout
    assert rollout.tolerated_failures(25) == 2


@given(percentage=st.integers(0, 100), total=st.integers(0, 17_000))
def test_a_percentage_tolerates_that_share_of_the_targets_rounded_down(percentage: int, total: int) -> None:
    tolerated = RolloutOptions(failureTolerancePercentage=percentage).tolerated_failures(total)
    assert tolerated <= percentage * total / 100 < tolerated + 1
    assert RolloutOptions(failureTolerancePercentage=100).tolerated_failures(total) == total


@given(count=st.integers(0, 1000), total=st.integers(0, 17_000))
def test_a_count_is_tolerated_as_given(count: int, total: int) -> None:
    assert RolloutOptions(failureTolerance=count).tolerated_failures(total) == count
