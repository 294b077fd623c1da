"""One identity per prefix where pullthrough reads ECR: a rule or template ECR holds as ``x/`` is the one of ``x``."""

from __future__ import annotations

import boto3

from pullthrough.adapters.ecr import EcrRegistry
from tests.integration.steps_support import run, task

TARGET = "eu-west-1"


def made_by_hand_with_a_slash() -> EcrRegistry:
    """A quay rule and a creation template created by hand as ``quay/``; the adapter on the same region."""
    ecr = boto3.client("ecr", region_name=TARGET)
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="quay/", upstreamRegistryUrl="quay.io")
    ecr.create_repository_creation_template(prefix="quay/", appliedFor=["CREATE_ON_PUSH"], description="by hand")
    return EcrRegistry(ecr)


def test_rules_and_templates_read_back_under_the_prefix_without_its_slash(moto_aws: None) -> None:
    registry = made_by_hand_with_a_slash()
    assert [rule["ecrRepositoryPrefix"] for rule in registry.list_rules()] == ["quay"]
    found = registry.get_rule("quay")
    assert found is not None and found["ecrRepositoryPrefix"] == "quay"
    assert list(registry.list_templates()) == ["quay"]
    assert (registry.get_template("quay") or {}).get("description") == "by hand"


def test_apply_template_converges_the_template_ecr_holds_as_x_slash(moto_aws: None) -> None:
    made_by_hand_with_a_slash()
    event = task(
        "apply_template",
        rule={"ecrRepositoryPrefix": "quay", "upstreamRegistry": "quay", "upstreamRegistryUrl": "quay.io"},
    )
    out = run("apply_template", event)
    assert out["action"] == "updated" and out["prior"]["description"] == "by hand"
    [held] = boto3.client("ecr", region_name=TARGET).describe_repository_creation_templates()[
        "repositoryCreationTemplates"
    ]
    assert sorted(held["appliedFor"]) == ["CREATE_ON_PUSH", "PULL_THROUGH_CACHE"]
