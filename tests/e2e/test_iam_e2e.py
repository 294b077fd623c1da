"""The IAM check catches a missing grant by running: a stack built from a copy of template.yaml that lacks one grant
fails its rollout, and the failure names the function and the action."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from local.stack import EmbeddedStack
from local.template_reader import DEFAULT_TEMPLATE, CfnLoader
from tests.e2e.conftest import call_api, wait_until

pytestmark = pytest.mark.e2e

FUNCTION, ACTION = "CreateRuleFunction", "ecr:CreatePullThroughCacheRule"
REGION = "eu-west-1"


def template_without(tmp_path: Path, function: str, action: str) -> Path:
    """A copy of template.yaml whose ``function`` is no longer granted ``action`` (local paths made absolute)."""
    doc = yaml.load(DEFAULT_TEMPLATE.read_text(), Loader=CfnLoader)  # CfnLoader is a SafeLoader
    removed = 0
    for policy in doc["Resources"][function]["Properties"]["Policies"]:
        for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if statement["Effect"] == "Allow" and action in actions:
                statement["Action"] = [a for a in actions if a != action]
                removed += 1
    assert removed, f"{function} was not granted {action}: pick another grant"
    base = DEFAULT_TEMPLATE.parent
    for resource in doc["Resources"].values():
        props: dict[str, Any] = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri", "DefinitionUri"):
            if isinstance(props.get(key), str):
                props[key] = str((base / props[key]).resolve())
    copy = tmp_path / "template.yaml"
    copy.write_text(yaml.safe_dump(doc, sort_keys=False))
    return copy


@pytest.fixture
def stack_lacking_a_grant(tmp_path: Path) -> Iterator[EmbeddedStack]:
    template = template_without(tmp_path, FUNCTION, ACTION)
    with EmbeddedStack(aws_port=0, api_port=0, template=template, parameters={"LogLevel": "WARNING"}) as running:
        yield running


def test_a_rollout_on_a_template_lacking_a_grant_fails_naming_the_function_and_the_action(
    stack_lacking_a_grant: EmbeddedStack,
) -> None:
    stack = stack_lacking_a_grant
    # When: a small rollout runs
    body = {
        "upstreamRegistry": "docker-hub",
        "ecrRepositoryPrefix": "iam-missing",
        "credentials": {"username": "iam-user", "accessToken": "iam-token"},
        "regions": [REGION],
    }
    status, started = call_api(stack.api_url, "POST", "/rules", body)
    assert status == 202, started

    def finished() -> dict[str, Any] | None:
        view = call_api(stack.api_url, "GET", f"/rollouts/{started['rolloutId']}")[1]
        return view if view["status"] != "RUNNING" else None

    view = wait_until(finished, 120, "the rollout to end")

    # Then: it did not succeed, nothing is left behind, and the denial names the function, the action and the region
    assert view["status"] == "ROLLED_BACK", view
    assert view["regions"][REGION]["step"] == "CreateRule"
    assert stack.client("ecr", REGION).describe_pull_through_cache_rules()["pullThroughCacheRules"] == []
    denied = f"IAM check: {FUNCTION} is not allowed {ACTION}"
    assert any(message.startswith(denied) for message in stack.iam_denials), stack.iam_denials
    assert all(FUNCTION in message and ACTION in message for message in stack.iam_denials), stack.iam_denials
    assert f"AccessDeniedException: {denied}" in view["regions"][REGION]["error"]["message"]
