"""ApplyTemplate: the creation template for the rule's prefix, applied for PULL_THROUGH_CACHE, idempotently."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from local.emulator import ecr_extension
from pullthrough import exceptions as ex
from tests.integration.steps_support import run, task
from tests.support import CallLog

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


def test_dropping_a_field_replaces_the_template_so_the_field_is_really_gone(moto_aws: None) -> None:
    event = task("apply_template")
    run("apply_template", event)
    event["creationTemplate"] = {"imageTagMutability": "MUTABLE"}
    assert run("apply_template", event)["action"] == "replaced"
    assert "lifecyclePolicy" not in template_in_region()


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
