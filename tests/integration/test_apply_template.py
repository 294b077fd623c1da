"""ApplyTemplate: the creation template for the rule's prefix, applied for PULL_THROUGH_CACHE, idempotently."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from local.emulator import ecr_extension
from pullthrough import aws
from pullthrough import exceptions as ex
from tests.integration.steps_support import run, task
from tests.support import ACCOUNT, CallLog

TARGET = "eu-west-1"


def template_in_region(prefix: str = "docker-hub") -> Any:
    ecr = boto3.client("ecr", region_name=TARGET)
    return ecr.describe_repository_creation_templates(prefixes=[prefix])["repositoryCreationTemplates"][0]


def test_first_apply_creates_the_template_for_pull_through_cache(moto_aws: None, call_log: CallLog) -> None:
    event = task("apply_template")
    assert run("apply_template", event) == {"action": "created"}
    made = template_in_region()
    assert made["appliedFor"] == ["PULL_THROUGH_CACHE"]
    assert json.loads(made["lifecyclePolicy"]) == json.loads(event["creationTemplate"]["lifecyclePolicy"])
    assert [op for *_, op in call_log.writes()] == ["CreateRepositoryCreationTemplate"]


def test_reapply_is_unchanged_without_writes(moto_aws: None, call_log: CallLog) -> None:
    run("apply_template", task("apply_template"))
    call_log.clear()
    assert run("apply_template", task("apply_template"))["action"] == "unchanged"
    assert call_log.writes() == []


def test_a_changed_field_updates_in_place_and_records_the_prior_template(moto_aws: None, call_log: CallLog) -> None:
    event = task("apply_template")
    run("apply_template", event)
    call_log.clear()
    event["creationTemplate"] = event["creationTemplate"] | {"imageTagMutability": "IMMUTABLE"}
    out = run("apply_template", event)
    assert out["action"] == "updated" and out["prior"]["imageTagMutability"] == "MUTABLE"
    assert template_in_region()["imageTagMutability"] == "IMMUTABLE"
    assert [op for *_, op in call_log.writes()] == ["UpdateRepositoryCreationTemplate"]


def sent_updates() -> list[dict[str, Any]]:
    """The parameters of every UpdateRepositoryCreationTemplate the app's ECR client sends in TARGET, as sent."""
    sent: list[dict[str, Any]] = []
    aws.client("ecr", TARGET).meta.events.register(
        "provide-client-params.ecr.UpdateRepositoryCreationTemplate", lambda params, **_: sent.append(dict(params))
    )
    return sent


def test_dropping_the_lifecycle_policy_clears_it_with_one_update(moto_aws: None, call_log: CallLog) -> None:
    # Given: the template with a lifecycle policy
    event = task("apply_template")
    run("apply_template", event)
    call_log.clear()

    # When: the desired template has none
    event["creationTemplate"] = {"imageTagMutability": "MUTABLE"}
    out = run("apply_template", event)

    # Then: one update (never delete + create, which leaves a moment without a template) and no policy left
    assert out["action"] == "updated" and "lifecyclePolicy" in out["prior"]
    assert "lifecyclePolicy" not in template_in_region()
    assert [op for *_, op in call_log.writes()] == ["UpdateRepositoryCreationTemplate"]


def test_a_template_that_leaves_tag_mutability_out_makes_an_immutable_one_mutable(moto_aws: None) -> None:
    # Given: an IMMUTABLE template in the region
    event = task("apply_template", creationTemplate={"description": "strict", "imageTagMutability": "IMMUTABLE"})
    run("apply_template", event)
    sent = sent_updates()

    # When: the desired template leaves imageTagMutability to ECR's default
    event["creationTemplate"] = {"description": "relaxed"}
    assert run("apply_template", event)["action"] == "updated"

    # Then: the update said MUTABLE itself (whatever ECR does with an omitted field), and the region holds it
    assert [update["imageTagMutability"] for update in sent] == ["MUTABLE"]
    assert template_in_region()["imageTagMutability"] == "MUTABLE"


def test_a_kms_template_becomes_aes256_when_the_desired_one_names_no_encryption(moto_aws: None) -> None:
    # Given: a KMS-encrypted template (with the role KMS needs)
    role = f"arn:aws:iam::{ACCOUNT}:role/ecr-template"
    kms = {"encryptionConfiguration": {"encryptionType": "KMS"}, "customRoleArn": role, "description": "kms"}
    event = task("apply_template", creationTemplate=kms)
    run("apply_template", event)
    sent = sent_updates()

    # When: the desired template names no encryption (ECR's default: AES256)
    event["creationTemplate"] = {"customRoleArn": role, "description": "default encryption"}
    assert run("apply_template", event)["action"] == "updated"

    # Then
    assert [update["encryptionConfiguration"] for update in sent] == [{"encryptionType": "AES256"}]
    assert template_in_region()["encryptionConfiguration"] == {"encryptionType": "AES256"}


def test_an_update_names_every_field_so_none_is_left_as_it_was(moto_aws: None) -> None:
    # Given: a template that uses every field
    role = f"arn:aws:iam::{ACCOUNT}:role/ecr-template"
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "ecr:*"}]}
    full = {
        "description": "everything",
        "encryptionConfiguration": {"encryptionType": "KMS"},
        "resourceTags": [{"Key": "team", "Value": "platform"}],
        "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
        "imageTagMutabilityExclusionFilters": [{"filterType": "WILDCARD", "filter": "latest"}],
        "repositoryPolicy": json.dumps(policy),
        "lifecyclePolicy": task("apply_template")["creationTemplate"]["lifecyclePolicy"],
        "customRoleArn": role,
    }
    event = task("apply_template", creationTemplate=full)
    run("apply_template", event)
    sent = sent_updates()

    # When: the desired template is empty (every field ECR's default)
    event["creationTemplate"] = {}
    run("apply_template", event)

    # Then: the update spelt every field out, and the region holds exactly ECR's defaults
    assert sent == [
        {
            "prefix": "docker-hub",
            "description": "",
            "encryptionConfiguration": {"encryptionType": "AES256"},
            "resourceTags": [],
            "imageTagMutability": "MUTABLE",
            "repositoryPolicy": "",
            "lifecyclePolicy": "",
            "appliedFor": ["PULL_THROUGH_CACHE"],
            "customRoleArn": "",
        }
    ]
    held = {k: v for k, v in template_in_region().items() if k not in ("createdAt", "updatedAt")}
    assert {k: v for k, v in held.items() if v not in ("", [])} == {
        "prefix": "docker-hub",
        "encryptionConfiguration": {"encryptionType": "AES256"},
        "imageTagMutability": "MUTABLE",
        "appliedFor": ["PULL_THROUGH_CACHE"],
    }


def test_an_existing_templates_other_uses_are_kept(moto_aws: None) -> None:
    boto3.client("ecr", region_name=TARGET).create_repository_creation_template(
        prefix="docker-hub", appliedFor=["CREATE_ON_PUSH"], imageTagMutability="MUTABLE"
    )
    assert run("apply_template", task("apply_template"))["action"] == "updated"
    assert sorted(template_in_region()["appliedFor"]) == ["CREATE_ON_PUSH", "PULL_THROUGH_CACHE"]


def test_creation_template_null_skips_the_step(moto_aws: None, call_log: CallLog) -> None:
    assert run("apply_template", task("apply_template", creationTemplate=None)) == {"action": "skipped"}
    assert call_log.calls == []


def test_a_template_that_breaks_the_models_rules_names_the_field(moto_aws: None) -> None:
    with pytest.raises(ex.InvalidRequest) as err:
        run("apply_template", task("apply_template", creationTemplate={"resourceTags": [{"Key": "a", "Value": "b"}]}))
    assert err.value.field == "creationTemplate"


def test_ecr_refusing_the_template_is_a_named_failure(moto_aws: None) -> None:
    ecr_extension.inject("CreateRepositoryCreationTemplate", "InvalidParameterException", "bad policy", region=TARGET)
    try:
        with pytest.raises(ex.TemplateRejected, match="bad policy"):
            run("apply_template", task("apply_template"))
    finally:
        ecr_extension.clear()
