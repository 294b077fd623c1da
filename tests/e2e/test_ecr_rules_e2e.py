"""ECR's own rules, end to end on the embedded stack: creation templates converge on the desired one in every region,
``x/`` is the rule ``x``, and requests ECR would refuse are refused before anything is written."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from local.emulator import ecr_extension
from local.stack import EmbeddedStack
from tests.e2e.conftest import ApiCall
from tests.support import ACCOUNT, ECR_REFUSALS, WRITE_PREFIXES, count_app_calls

pytestmark = pytest.mark.e2e

WaitRollout = Callable[..., dict[str, Any]]
REGIONS = ["eu-west-1", "us-west-2", "ap-southeast-2"]
TEMPLATE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/ecr-template"
LIFECYCLE = {
    "rules": [
        {
            "rulePriority": 1,
            "description": "expire untagged",
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": 3,
            },
            "action": {"type": "expire"},
        }
    ]
}


def quay_rule(prefix: str, template: dict[str, Any] | None, regions: list[str] = REGIONS) -> dict[str, Any]:
    """A POST /rules body for a quay rule (no credentials) with ``template``."""
    return {"upstreamRegistry": "quay", "ecrRepositoryPrefix": prefix, "regions": regions, "creationTemplate": template}


def rolled_out(api: ApiCall, wait_rollout: WaitRollout, body: dict[str, Any]) -> dict[str, Any]:
    status, started = api("POST", "/rules", body)
    assert status == 202, started
    finished = wait_rollout(started["rolloutId"])
    assert finished["status"] == "SUCCEEDED", finished
    return finished


def templates_in(stack: EmbeddedStack, region: str) -> list[dict[str, Any]]:
    return list(stack.client("ecr", region).describe_repository_creation_templates()["repositoryCreationTemplates"])


def rules_in(stack: EmbeddedStack, region: str) -> list[dict[str, Any]]:
    return list(stack.client("ecr", region).describe_pull_through_cache_rules()["pullThroughCacheRules"])


def ecr_writes() -> dict[tuple[str, str], int]:
    return {key: n for key, n in ecr_extension.calls().items() if key[1].startswith(WRITE_PREFIXES)}


def test_a_template_back_to_ecrs_defaults_is_mutable_aes256_and_without_lifecycle_everywhere(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: WaitRollout
) -> None:
    prefix = "tpl-converge"
    # Given: a strict template in three regions: IMMUTABLE, KMS (with the role KMS needs), a lifecycle policy
    strict = {
        "description": "strict",
        "imageTagMutability": "IMMUTABLE",
        "encryptionConfiguration": {"encryptionType": "KMS"},
        "customRoleArn": TEMPLATE_ROLE,
        "lifecyclePolicy": json.dumps(LIFECYCLE),
    }
    rolled_out(api, wait_rollout, quay_rule(prefix, strict))
    ecr_extension.reset_calls()

    # When: the desired template leaves every one of those to ECR's defaults
    rolled_out(api, wait_rollout, quay_rule(prefix, {"description": "relaxed"}))

    # Then: every region holds MUTABLE, AES256, no lifecycle policy and no role, after one update per region
    for region in REGIONS:
        [template] = [t for t in templates_in(stack, region) if t["prefix"] == prefix]
        assert template["imageTagMutability"] == "MUTABLE", region
        assert template["encryptionConfiguration"] == {"encryptionType": "AES256"}, region
        assert not template.get("lifecyclePolicy") and not template.get("customRoleArn"), region
        assert template["description"] == "relaxed", region
    template_writes = {key: n for key, n in ecr_writes().items() if "RepositoryCreationTemplate" in key[1]}
    assert template_writes == {(region, "UpdateRepositoryCreationTemplate"): 1 for region in REGIONS}


def test_x_then_x_slash_is_one_rule(stack: EmbeddedStack, api: ApiCall, wait_rollout: WaitRollout) -> None:
    regions = REGIONS[:2]
    # Given: "slashed" rolling out
    status, first = api("POST", "/rules", quay_rule("slashed", None, regions))
    assert status == 202, first

    # When: "slashed/" (with another template) is requested while it runs, and again once it ended
    status, busy = api("POST", "/rules", quay_rule("slashed/", {"description": "second"}, regions))
    assert (status, busy["rolloutId"]) == (409, first["rolloutId"]), busy
    assert wait_rollout(first["rolloutId"])["status"] == "SUCCEEDED"
    again = rolled_out(api, wait_rollout, quay_rule("slashed/", {"description": "second"}, regions))

    # Then: one rule and one template per region, under "slashed"; the API finds it by either form
    assert again["prefix"] == "slashed"
    for region in regions:
        assert [r["ecrRepositoryPrefix"] for r in rules_in(stack, region) if "slashed" in r["ecrRepositoryPrefix"]] == [
            "slashed"
        ]
        assert [t["description"] for t in templates_in(stack, region) if "slashed" in t["prefix"]] == ["second"]
    status, rule = api("GET", "/rules/slashed%2F")
    assert status == 200 and rule["prefix"] == "slashed"

    # And DELETE by "slashed/" removes it everywhere
    status, deleting = api("DELETE", "/rules/slashed%2F")
    assert status == 202, deleting
    assert wait_rollout(deleting["rolloutId"])["status"] == "SUCCEEDED"
    for region in regions:
        assert not [r for r in rules_in(stack, region) if "slashed" in r["ecrRepositoryPrefix"]], region


def test_requests_ecr_would_refuse_are_422_naming_the_field_with_zero_writes(
    stack: EmbeddedStack, api: ApiCall, monkeypatch: pytest.MonkeyPatch
) -> None:
    app_calls = count_app_calls(monkeypatch)
    ecr_extension.reset_calls()
    for name, (body, field) in ECR_REFUSALS.items():
        status, answer = api("POST", "/rules", body | {"regions": REGIONS})
        assert status == 422 and [e["field"] for e in answer["errors"]] == [field], (name, answer)
    assert app_calls.writes() == []  # no secret, rule, template, lock or rollout record: nothing at all
    assert ecr_writes() == {}
