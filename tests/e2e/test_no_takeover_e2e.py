"""No silent takeover across an Organization, on the embedded stack: a rule or secret made by hand in a member account
fails its target with NotManaged (all or nothing: the rollout ends ROLLED_BACK and leaves it exactly as it was);
``"adopt": true`` takes both over, and a rollback for another reason puts them back exactly, untagged; a plan reports
NotManaged alike; what pullthrough creates is tagged as its own."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from local import faults
from local.stack import EmbeddedStack
from tests.e2e.conftest import ApiCall

pytestmark = pytest.mark.e2e

REGION = "eu-west-1"
TOKEN = "canary-token-no-takeover-5d1a"
OURS = "managed-by"


def request(prefix: str, accounts: list[str], **fields: Any) -> dict[str, Any]:
    return {
        "upstreamRegistry": "docker-hub",
        "ecrRepositoryPrefix": prefix,
        "credentials": {"username": "org-user", "accessToken": TOKEN},
        "regions": [REGION],
        "accounts": accounts,
        **fields,
    }


def members(stack: EmbeddedStack) -> list[str]:
    org = stack.organization
    assert org is not None
    return sorted(a for a in org.members.values() if a != org.account_without_role)


def start(api: ApiCall, body: dict[str, Any], query: str = "") -> str:
    status, started = api("POST", f"/rules{query}", body)
    assert status == 202, started
    return str(started["rolloutId"])


def target(rollout: dict[str, Any], account: str) -> dict[str, Any]:
    return next(t for t in rollout["targets"] if (t["account"], t["region"]) == (account, REGION))


def held(stack: EmbeddedStack, account: str, prefix: str) -> dict[str, Any]:
    """What ``account`` holds for the prefix (seen as its administrator): the rule, and the secret's ARN, current
    version, value and tags."""
    ecr = stack.client("ecr", REGION, account=account)
    rules = [
        {k: v for k, v in rule.items() if k not in ("createdAt", "updatedAt")}
        for rule in ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"]
        if rule["ecrRepositoryPrefix"] == prefix
    ]
    sm = stack.client("secretsmanager", REGION, account=account)
    secret = None
    for listed in sm.list_secrets()["SecretList"]:
        if listed["Name"] == f"ecr-pullthroughcache/{prefix}":
            current = sm.get_secret_value(SecretId=listed["ARN"])
            tags = {tag["Key"]: tag["Value"] for tag in listed.get("Tags") or []}
            secret = {"arn": listed["ARN"], "version": current["VersionId"], "value": current["SecretString"]}
            secret["tags"] = tags
    return {"rule": rules[0] if rules else None, "secret": secret}


def hand_made_rule(stack: EmbeddedStack, account: str, prefix: str) -> None:
    stack.client("ecr", REGION, account=account).create_pull_through_cache_rule(
        ecrRepositoryPrefix=prefix, upstreamRegistry="quay", upstreamRegistryUrl="quay.io"
    )


def hand_made_secret(stack: EmbeddedStack, account: str, prefix: str) -> str:
    made = stack.client("secretsmanager", REGION, account=account).create_secret(
        Name=f"ecr-pullthroughcache/{prefix}",
        SecretString=json.dumps({"username": "theirs", "accessToken": "theirs"}),
        Tags=[{"Key": "team", "Value": "payments"}],
    )
    return str(made["ARN"])


def test_a_hand_made_rule_in_a_member_is_left_as_it_was_and_the_rollout_rolls_back_naming_it(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: Callable[..., dict[str, Any]]
) -> None:
    # Given a rule made by hand in the second member account for the prefix, upstream quay.io
    first, second = members(stack)[:2]
    hand_made_rule(stack, second, "nt-rule")
    before = held(stack, second, "nt-rule")

    # When an org rollout of a docker-hub rule for the same prefix reaches both accounts
    finished = wait_rollout(start(api, request("nt-rule", [first, second])))

    # Then the rollout is rolled back with NotManaged naming the rule, its account and region, and adopt
    assert finished["status"] == "ROLLED_BACK", finished
    error = target(finished, second)["error"]
    assert error["type"] == "NotManaged"
    assert error["message"].startswith(
        f"account {second}, region {REGION}: pull-through cache rule nt-rule (upstream quay.io) not created by "
        'pullthrough; send "adopt": true'
    )
    assert held(stack, second, "nt-rule") == before
    assert held(stack, first, "nt-rule") == {"rule": None, "secret": None}


def test_a_hand_made_secret_in_a_member_is_left_as_it_was_and_the_rollout_rolls_back_naming_it(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: Callable[..., dict[str, Any]]
) -> None:
    first, second = members(stack)[:2]
    arn = hand_made_secret(stack, second, "nt-secret")
    before = held(stack, second, "nt-secret")

    finished = wait_rollout(start(api, request("nt-secret", [first, second])))

    assert finished["status"] == "ROLLED_BACK", finished
    error = target(finished, second)["error"]
    assert error["type"] == "NotManaged"
    assert error["message"].startswith(f"account {second}, region {REGION}: secret {arn} not created by pullthrough")
    assert held(stack, second, "nt-secret") == before
    assert TOKEN not in json.dumps(finished)


def test_a_plan_reports_not_managed_the_same_way(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: Callable[..., dict[str, Any]]
) -> None:
    first = members(stack)[0]
    hand_made_rule(stack, first, "nt-plan")
    plan = wait_rollout(start(api, request("nt-plan", [first]), "?dryRun=true"))
    assert plan["status"] == "FAILED", plan  # a plan with a target that would fail (PLANNED: every one would apply)
    error = target(plan, first)["error"]
    assert error["type"] == "NotManaged"
    assert "pull-through cache rule nt-plan (upstream quay.io) not created by pullthrough" in error["message"]


def test_with_adopt_both_are_taken_over_and_a_rollback_for_another_reason_puts_them_back_exactly(
    stack: EmbeddedStack,
    api: ApiCall,
    wait_rollout: Callable[..., dict[str, Any]],
    step_faults: faults.StepFaults,
) -> None:
    # Given a hand-made secret and a hand-made rule in a member account
    member = members(stack)[0]
    hand_made_secret(stack, member, "nt-adopt")
    hand_made_rule(stack, member, "nt-adopt")
    before = held(stack, member, "nt-adopt")
    later = "us-west-2"
    step_faults.inject("ApplyTemplateFunction", later, error_type="TemplateRejected", prefix="nt-adopt")

    # When a rollout that says adopt takes them over there, then fails for good in the account's next region
    body = request("nt-adopt", [member], adopt=True, rollout={"maxConcurrency": 1})
    body["regions"] = [REGION, later]
    finished = wait_rollout(start(api, body))

    # Then the target was taken over (secret updated, rule replaced) and rolled back: it holds exactly what it held,
    # the secret's value, version and tags (its own only) included
    assert finished["status"] == "ROLLED_BACK", finished
    taken = target(finished, member)
    assert taken["status"] == "ROLLED_BACK", taken
    assert step_faults.invocations("ApplyTemplateFunction", region=REGION, prefix="nt-adopt")
    assert held(stack, member, "nt-adopt") == before
    assert before["secret"]["tags"] == {"team": "payments"}


def test_what_pullthrough_creates_in_a_member_is_tagged_as_its_own(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: Callable[..., dict[str, Any]]
) -> None:
    member = members(stack)[0]
    finished = wait_rollout(start(api, request("nt-tagged", [member])))
    assert finished["status"] == "SUCCEEDED", finished
    secret = held(stack, member, "nt-tagged")["secret"]
    assert secret["tags"] == {OURS: "pullthrough", "pullthrough:prefix": "nt-tagged"}
    source = stack.client("secretsmanager").describe_secret(SecretId="ecr-pullthroughcache/_source/nt-tagged")
    assert {t["Key"]: t["Value"] for t in source["Tags"]} == {OURS: "pullthrough", "pullthrough:prefix": "nt-tagged"}
