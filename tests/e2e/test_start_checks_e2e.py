"""Issue 18's start-path checks on the embedded stack, with its seeded Organization and the functions' own IAM
policies: an account outside the Organization is refused before anything is written; its members still pass."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import ApiCall

pytestmark = pytest.mark.e2e

OUTSIDE = "999988887777"  # not an account of the seeded Organization


def _member(stack: Any) -> str:
    org = stack.organization
    assert org is not None
    return str(sorted(a for a in org.members.values() if a != org.account_without_role)[0])


def _nothing_for(stack: Any, prefix: str) -> None:
    (table,) = stack.table_names.values()
    items = stack.client("dynamodb").scan(TableName=table)["Items"]
    assert not [i for i in items if prefix in str(i)]  # no lock, rollout or rule item names the prefix
    names = [s["Name"] for s in stack.client("secretsmanager").list_secrets()["SecretList"]]
    assert not [n for n in names if n.endswith("/" + prefix)]


@pytest.mark.parametrize("path", ["/rules", "/rules?dryRun=true"], ids=["apply", "plan"])
def test_an_account_outside_the_organization_is_refused_and_nothing_is_written(
    stack: Any, api: ApiCall, path: str
) -> None:
    prefix = "outside-" + ("plan" if "dryRun" in path else "apply")
    body = {
        "upstreamRegistry": "docker-hub",
        "ecrRepositoryPrefix": prefix,
        "credentials": {"username": "u", "accessToken": "t"},
        "regions": ["eu-west-1"],
        "accounts": [_member(stack), OUTSIDE],
    }
    status, answer = api("POST", path, body)
    assert status == 422, answer
    assert answer["errors"][0]["field"] == "accounts.1" and OUTSIDE in answer["message"]
    _nothing_for(stack, prefix)


def test_a_member_of_the_organization_is_accepted(stack: Any, api: ApiCall) -> None:
    body = {"upstreamRegistry": "quay", "ecrRepositoryPrefix": "inside-plan", "regions": ["eu-west-1"]}
    status, answer = api("POST", "/rules?dryRun=true", body | {"accounts": [_member(stack)]})
    assert status == 202, answer
