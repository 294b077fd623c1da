"""The step functions' task records: parsed without pydantic, yet as strict as the request models they come from."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from pullthrough import creation_template, models, request_fields
from pullthrough.exceptions import InvalidRequest
from pullthrough.tasks import (
    PREFIX_PATTERN,
    ROLE_ARN_PATTERN,
    SECRET_ARN_PATTERN,
    TEMPLATE_FIELDS,
    RegionTask,
    SecretChange,
    TaskRule,
)
from tests.support import ROOT, load_event

# Every state machine task function: its cold start is on each region's critical path.
STEP_FUNCTIONS = (
    "snapshot_region",
    "store_secret",
    "create_rule",
    "validate_rule",
    "apply_template",
    "rollback",
    "remove_rule",
    "finish_rollout",
)


@pytest.mark.parametrize("function", STEP_FUNCTIONS)
def test_a_step_function_imports_neither_pydantic_nor_the_request_models(function: str) -> None:
    code = "import sys; import app; print(sorted(m for m in ('pydantic', 'pullthrough.models') if m in sys.modules))"
    path = [str(ROOT / "functions" / function), str(ROOT / "layers" / "common")]
    out = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path[:0] = {path!r}; {code}"],
        capture_output=True,
        text=True,
        check=True,
        env={"AWS_REGION": "us-east-1", "TABLE_NAME": "t", "PATH": ""},
    )
    assert out.stdout.strip() == "[]"


def test_the_task_patterns_are_the_request_models() -> None:
    assert PREFIX_PATTERN.pattern == request_fields._PREFIX_PATTERN.removeprefix("^").removesuffix("$")
    assert set(creation_template.CreationTemplate.model_fields) == TEMPLATE_FIELDS
    assert set(models.Rule.model_fields) == TaskRule.FIELDS
    for annotated, light in (
        (request_fields.RoleArn, ROLE_ARN_PATTERN),
        (request_fields.SourceSecretArn, SECRET_ARN_PATTERN),
    ):
        field = annotated.__metadata__[0]  # type: ignore[attr-defined]
        (pattern,) = (m.pattern for m in field.metadata if getattr(m, "pattern", None))
        assert pattern.strip("^$") == light.pattern


def test_a_task_the_app_builds_from_a_request_parses_to_the_same_rule_and_template() -> None:
    request = models.parse_model(
        models.RuleRequest,
        {"upstreamRegistry": "quay", "ecrRepositoryPrefix": "hub/", "regions": ["eu-west-1"]},
    )
    template = request.template()
    assert template is not None
    task = RegionTask.parse(
        {
            "rolloutId": "r-1",
            "region": "eu-west-1",
            "rule": request.rule().model_dump(mode="json"),
            "creationTemplate": template.model_dump(mode="json"),
        }
    )
    assert task.rule.to_ecr() == request.rule().model_dump(exclude_none=True)
    assert task.creationTemplate is not None and task.creationTemplate.to_ecr() == template.to_ecr()
    assert task.prefix == "hub" and not task.rule.needs_secret


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"region": "mars-north-1"}, "region"),
        ({"rolloutId": ""}, "rolloutId"),
        ({"failureTolerance": -1}, "failureTolerance"),
        ({"mode": "YOLO"}, "mode"),
        ({"rule": {"upstreamRegistry": "docker-hub"}}, "rule.ecrRepositoryPrefix"),
        ({"rule": "docker-hub"}, "rule"),
        ({"sourceSecretArn": "arn:aws:s3:::bucket"}, "sourceSecretArn"),
        ({"creationTemplate": {"imageTagMutability": "MUTABLE", "colour": "blue"}}, "creationTemplate.colour"),
        ({"storeSecret": {"action": "created", "secretValue": "x"}}, "storeSecret.secretValue"),
        ({"storeSecret": {"action": "borrowed"}}, "storeSecret.action"),
        ({"createRule": {"action": "created", "rule": "text"}}, "createRule.rule"),
    ],
)
def test_a_task_that_does_not_fit_names_the_field(change: dict[str, Any], field: str) -> None:
    event = load_event("store_secret")
    if "rule" in change and isinstance(change["rule"], dict):
        change = {"rule": {"upstreamRegistryUrl": "registry-1.docker.io", **change["rule"]}}
    with pytest.raises(InvalidRequest) as refused:
        RegionTask.parse(event | change)
    assert refused.value.field == field
    assert refused.value.errors == [{"field": field, "message": refused.value.message.split(": ", 1)[1]}]


def test_unknown_state_keys_are_ignored_and_a_rule_prefix_loses_its_trailing_slash() -> None:
    event = load_event("store_secret")
    task = RegionTask.parse(event | {"timings": [1, 2], "rule": event["rule"] | {"ecrRepositoryPrefix": "docker-hub/"}})
    assert task.prefix == "docker-hub"


def test_a_change_record_round_trips_without_its_unset_fields() -> None:
    change = SecretChange(action="updated", secretArn="arn:x", versionId="v2", priorVersionId="v1")
    assert json.loads(change.dumps()) == {
        "action": "updated",
        "secretArn": "arn:x",
        "versionId": "v2",
        "priorVersionId": "v1",
    }
    assert SecretChange.loads(change.dumps()) == change and change.changed
