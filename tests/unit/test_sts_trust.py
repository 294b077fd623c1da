"""The emulator's trust policy evaluation (local.emulator.sts_trust): who a role's trust policy lets in."""

from __future__ import annotations

from typing import Any

import pytest

from local.emulator.sts_trust import Caller, trust_allows

HOME = "123456789012"
FUNCTION = Caller(HOME, f"arn:aws:iam::{HOME}:role/pullthrough/fn-role", f"arn:aws:sts::{HOME}:assumed-role/fn-role/fn")
ROOT = Caller(HOME, f"arn:aws:iam::{HOME}:root", f"arn:aws:iam::{HOME}:root")


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(principal: Any, action: Any = "sts:AssumeRole", **condition: Any) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Principal": principal,
        "Action": action,
        **({"Condition": condition} if condition else {}),
    }


def context(caller: Caller, **more: str) -> dict[str, tuple[str, ...]]:
    return {"aws:principalarn": (caller.principal_arn,), **{k.replace("_", ":"): (v,) for k, v in more.items()}}


@pytest.mark.parametrize(
    ("principal", "allowed"),
    [
        ("*", True),
        ({"AWS": "*"}, True),
        ({"AWS": HOME}, True),
        ({"AWS": f"arn:aws:iam::{HOME}:root"}, True),
        ({"AWS": ["arn:aws:iam::999999999999:root", FUNCTION.principal_arn]}, True),  # the exact role
        ({"AWS": "arn:aws:iam::999999999999:root"}, False),
        ({"AWS": f"arn:aws:iam::{HOME}:role/pullthrough/other"}, False),
        ({"Service": "lambda.amazonaws.com"}, False),
    ],
)
def test_the_principal_must_name_the_caller_its_account_or_everyone(principal: Any, allowed: bool) -> None:
    assert trust_allows(policy(allow(principal)), FUNCTION, ["sts:AssumeRole"], context(FUNCTION)) is allowed


def test_a_condition_on_the_principal_arn_narrows_the_account_to_its_functions() -> None:
    trusted = policy(allow({"AWS": HOME}, ArnLike={"aws:PrincipalArn": f"arn:aws:iam::{HOME}:role/pullthrough/*"}))
    assert trust_allows(trusted, FUNCTION, ["sts:AssumeRole"], context(FUNCTION))
    assert not trust_allows(trusted, ROOT, ["sts:AssumeRole"], context(ROOT))


def test_a_condition_on_a_key_the_request_lacks_does_not_hold() -> None:
    in_org = policy(allow({"AWS": HOME}, StringEquals={"aws:PrincipalOrgID": "o-abc"}))
    assert not trust_allows(in_org, FUNCTION, ["sts:AssumeRole"], context(FUNCTION))
    assert trust_allows(in_org, FUNCTION, ["sts:AssumeRole"], context(FUNCTION, aws_principalorgid="o-abc"))
    unknown_key = policy(allow({"AWS": HOME}, StringEquals={"aws:SourceVpc": "vpc-1"}))
    assert not trust_allows(unknown_key, FUNCTION, ["sts:AssumeRole"], context(FUNCTION))


def test_a_source_identity_needs_set_source_identity_too() -> None:
    assume_only = policy(allow({"AWS": HOME}))
    both = policy(allow({"AWS": HOME}, ["sts:AssumeRole", "sts:SetSourceIdentity"]))
    actions = ["sts:AssumeRole", "sts:SetSourceIdentity"]
    assert not trust_allows(assume_only, FUNCTION, actions, context(FUNCTION))
    assert trust_allows(both, FUNCTION, actions, context(FUNCTION))
    assert trust_allows(policy(allow({"AWS": HOME}, "sts:*")), FUNCTION, actions, context(FUNCTION))


def test_an_explicit_deny_wins() -> None:
    denied = policy(allow({"AWS": HOME}), {"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole"})
    assert not trust_allows(denied, FUNCTION, ["sts:AssumeRole"], context(FUNCTION))
    assert not trust_allows(policy(), FUNCTION, ["sts:AssumeRole"], context(FUNCTION))
