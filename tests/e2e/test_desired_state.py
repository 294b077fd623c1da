"""The rule is the desired state, including where it lives; a plan shows what an apply would change, writing nothing.

Given a rule rolled out to some regions, when a new request for the prefix names other regions, then the rollout
takes the prefix (rule, template use, live secret) out of every region no longer desired, and reports per region
what it did to each resource. DELETE clears every region pullthrough ever wrote the prefix to.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from local.stack import EmbeddedStack
from tests.e2e.conftest import ApiCall

pytestmark = pytest.mark.e2e

FOUR = ["eu-west-1", "us-west-2", "ap-southeast-2", "eu-central-1"]
TEMPLATE = {"description": "desired state e2e", "imageTagMutability": "IMMUTABLE"}
# What a plan or an apply may send to ECR and Secrets Manager: reads only.
READS = ("Describe", "Get", "List", "BatchGet", "Validate")


def request(prefix: str, regions: list[str], token: str = "token-1") -> dict[str, Any]:
    return {
        "upstreamRegistry": "docker-hub",
        "ecrRepositoryPrefix": prefix,
        "credentials": {"username": "desired-user", "accessToken": token},
        "regions": regions,
        "creationTemplate": TEMPLATE,
    }


def held(stack: EmbeddedStack, prefix: str, region: str) -> dict[str, bool]:
    """What the region holds for the prefix, as boto3 sees it (a secret scheduled for deletion is not live)."""
    ecr = stack.client("ecr", region)
    rules = ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"]
    templates = ecr.describe_repository_creation_templates()["repositoryCreationTemplates"]
    secrets = stack.client("secretsmanager", region).list_secrets(IncludePlannedDeletion=True)["SecretList"]
    live = [s for s in secrets if s["Name"] == f"ecr-pullthroughcache/{prefix}" and "DeletedDate" not in s]
    return {
        "rule": any(r["ecrRepositoryPrefix"] == prefix for r in rules),
        "template": any(t["prefix"] == prefix for t in templates),
        "secret": bool(live),
    }


def managed_writes(operations: list[str]) -> list[str]:
    """The ECR and Secrets Manager operations among ``operations`` that change something."""
    return [
        op
        for op in operations
        if op.startswith(("AmazonEC2ContainerRegistry", "secretsmanager")) and not op.split(".", 1)[1].startswith(READS)
    ]


def apply(api: ApiCall, wait_rollout: Callable[..., dict[str, Any]], body: dict[str, Any], query: str = "") -> Any:
    status, started = api("POST", "/rules" + query, body)
    assert status == 202, started
    return wait_rollout(started["rolloutId"])


def test_dropping_regions_removes_the_prefix_there_and_delete_clears_every_region(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: Callable[..., dict[str, Any]]
) -> None:
    prefix = "desired-drop"
    first = apply(api, wait_rollout, request(prefix, FOUR))
    assert first["status"] == "SUCCEEDED", first
    assert {r: v["changes"] for r, v in first["regions"].items()} == {
        r: {"secret": "created", "rule": "created", "template": "created"} for r in FOUR
    }

    second = apply(api, wait_rollout, request(prefix, FOUR[:2]))

    assert second["status"] == "SUCCEEDED", second
    assert set(second["regions"]) == set(FOUR)
    for region in FOUR[:2]:
        assert second["regions"][region]["changes"] == {
            "secret": "unchanged",
            "rule": "unchanged",
            "template": "unchanged",
        }
        assert held(stack, prefix, region) == {"rule": True, "template": True, "secret": True}
    for region in FOUR[2:]:
        assert second["regions"][region]["changes"] == {"secret": "deleted", "rule": "deleted", "template": "deleted"}
        assert held(stack, prefix, region) == {"rule": False, "template": False, "secret": False}
    status, rule = api("GET", f"/rules/{prefix}")
    assert status == 200
    assert rule["prefix"] == prefix and "pk" not in rule and "sk" not in rule
    assert rule["regions"] == FOUR[:2] and rule["deployedRegions"] == sorted(FOUR[:2])
    status, listed = api("GET", "/rules")
    # The listing shows each rule as GET /rules/{prefix} does, with counts instead of the page of targets.
    paged = {k: v for k, v in rule.items() if k not in ("deployedTargets", "nextToken")}
    assert [r for r in listed["rules"] if r["prefix"] == prefix] == [paged]
    assert paged["deployedCounts"] == {"targets": 2, "accounts": 1, "regions": 2}
    assert [(t["account"], t["region"]) for t in rule["deployedTargets"]] == [
        ("123456789012", region) for region in sorted(FOUR[:2])
    ]

    status, started = api("DELETE", f"/rules/{prefix}")
    assert status == 202, started
    deleted = wait_rollout(started["rolloutId"])

    assert deleted["status"] == "SUCCEEDED", deleted
    for region in FOUR:
        assert held(stack, prefix, region) == {"rule": False, "template": False, "secret": False}
    assert api("GET", f"/rules/{prefix}")[0] == 404


def test_a_region_left_behind_by_an_older_request_is_cleaned_by_delete(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: Callable[..., dict[str, Any]]
) -> None:
    """A rollout whose removal part failed keeps the region tracked; DELETE still reaches it."""
    prefix = "desired-tracked"
    assert apply(api, wait_rollout, request(prefix, FOUR[:3]))["status"] == "SUCCEEDED"
    assert apply(api, wait_rollout, request(prefix, FOUR[:1]))["status"] == "SUCCEEDED"
    _, started = api("DELETE", f"/rules/{prefix}")
    deleted = wait_rollout(started["rolloutId"])
    assert deleted["status"] == "SUCCEEDED", deleted
    assert all(held(stack, prefix, r) == {"rule": False, "template": False, "secret": False} for r in FOUR)


def test_a_plan_reports_what_an_apply_would_do_and_writes_nothing(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: Callable[..., dict[str, Any]]
) -> None:
    prefix = "desired-plan"
    assert apply(api, wait_rollout, request(prefix, FOUR[:2]))["status"] == "SUCCEEDED"
    before = {region: held(stack, prefix, region) for region in FOUR}
    mark = len(stack.requests.operations)

    # A change to 3 regions: keep us-west-2, add two, drop eu-west-1; a new template field; new credentials.
    body = request(prefix, [FOUR[1], FOUR[2], FOUR[3]], token="token-2")
    body["creationTemplate"] = TEMPLATE | {"description": "changed"}
    plan = apply(api, wait_rollout, body, "?dryRun=true")

    assert plan["status"] == "PLANNED", plan
    assert plan["mode"] == "PLAN"
    assert {r: v["changes"] for r, v in plan["regions"].items()} == {
        "eu-west-1": {"secret": "deleted", "rule": "deleted", "template": "deleted"},
        "us-west-2": {"secret": "updated", "rule": "unchanged", "template": "updated"},
        "ap-southeast-2": {"secret": "created", "rule": "created", "template": "created"},
        "eu-central-1": {"secret": "created", "rule": "created", "template": "created"},
    }
    assert managed_writes(stack.requests.since(mark)) == []
    assert {region: held(stack, prefix, region) for region in FOUR} == before
    status, rule = api("GET", f"/rules/{prefix}")
    assert rule["regions"] == FOUR[:2]  # a plan leaves the desired state alone
    # A plan takes no lock: an apply can start while nothing runs, and the rule is as it was.
    status, started = api("DELETE", f"/rules/{prefix}?dryRun=true")
    assert status == 202, started
    delete_plan = wait_rollout(started["rolloutId"])
    assert delete_plan["status"] == "PLANNED"
    assert {r: v["changes"] for r, v in delete_plan["regions"].items()} == {
        r: {"secret": "deleted", "rule": "deleted", "template": "deleted"} for r in FOUR[:2]
    }
    assert managed_writes(stack.requests.since(mark)) == []
    assert {region: held(stack, prefix, region) for region in FOUR} == before


def test_an_apply_writes_through_the_same_log_the_plan_is_checked_with(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: Callable[..., dict[str, Any]]
) -> None:
    """The write counter sees real writes (so a plan's zero is not a counter that cannot count)."""
    mark = len(stack.requests.operations)
    assert apply(api, wait_rollout, request("desired-counted", FOUR[:1]))["status"] == "SUCCEEDED"
    writes = managed_writes(stack.requests.since(mark))
    assert "secretsmanager.CreateSecret" in writes
    assert any(op.endswith("CreatePullThroughCacheRule") for op in writes)
