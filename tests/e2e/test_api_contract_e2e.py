"""The API over HTTP on the embedded stack (the template's routes, the real state machine) answers what its OpenAPI
document says: raw and encoded prefixes with a slash, the links it returns, rollouts that succeed and roll back."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from openapi_schema_validator import OAS31Validator

from local.emulator import ecr_extension
from local.openapi_doc import DOCUMENT
from local.stack import EmbeddedStack
from tests.e2e.conftest import ApiCall, call_api

pytestmark = pytest.mark.e2e
CHECKED_IN: dict[str, Any] = json.loads(DOCUMENT.read_text())


def documented(method: str, path: str, status: int, body: Any) -> None:
    """``body`` is what the document says ``method path`` answers with ``status``."""
    response = CHECKED_IN["paths"][path][method.lower()]["responses"][str(status)]
    schema = response["content"]["application/json"]["schema"]
    OAS31Validator({**schema, "components": CHECKED_IN["components"]}).validate(body)


def test_the_local_api_serves_the_checked_in_document_under_the_stage(stack: EmbeddedStack) -> None:
    status, served = call_api(stack.api_url, "GET", "/v1/swagger?format=json")
    assert status == 200 and served == CHECKED_IN


def test_a_prefix_with_a_slash_rolls_out_is_read_and_deleted_by_raw_and_encoded_paths(
    api: ApiCall, wait_rollout: Callable[..., dict[str, Any]]
) -> None:
    # Given: a rule whose prefix has a slash, rolled out
    request = {"upstreamRegistry": "quay", "ecrRepositoryPrefix": "team/quay", "regions": ["us-east-1", "eu-west-1"]}
    status, started = api("POST", "/rules", request)
    assert status == 202, started
    documented("POST", "/rules", 202, started)
    done = wait_rollout(started["rolloutId"])
    assert done["status"] == "SUCCEEDED", done
    documented("GET", "/rollouts/{rolloutId}", 200, done)
    assert {region["step"] for region in done["regions"].values()} == {None}

    # When/Then: the link it returned resolves, and so do the raw path and the staged path
    assert started["links"]["rule"] == "/rules/team%2Fquay"
    for path in (started["links"]["rule"], "/rules/team/quay", "/v1/rules/team/quay", "/rules/team/quay/"):
        status, rule = api("GET", path)
        assert (status, rule["prefix"]) == (200, "team/quay"), path
        documented("GET", "/rules/{prefix}", 200, rule)
    assert rule["deployedRegions"] == ["eu-west-1", "us-east-1"]

    # ...and a raw path deletes it everywhere
    status, deleting = api("DELETE", "/rules/team/quay")
    assert status == 202 and deleting["prefix"] == "team/quay", deleting
    documented("DELETE", "/rules/{prefix}", 202, deleting)
    assert wait_rollout(deleting["rolloutId"])["status"] == "SUCCEEDED"
    status, missing = api("GET", "/rules/team/quay")
    assert status == 404 and missing["message"] == "no rule with prefix 'team/quay'"
    documented("GET", "/rules/{prefix}", 404, missing)


def test_a_rolled_back_rollout_reads_as_documented_with_null_steps_where_none_failed(
    api: ApiCall, wait_rollout: Callable[..., dict[str, Any]]
) -> None:
    # Given: validation fails in the second of three regions worked one at a time
    prefix, order = "contract-rollback", ["us-east-1", "eu-west-1", "ap-southeast-2"]
    ecr_extension.fail_validation(prefix, "Authentication failed: bad upstream credentials", region="eu-west-1")
    request = {
        "upstreamRegistry": "quay",
        "ecrRepositoryPrefix": prefix,
        "regions": order,
        "rollout": {"maxConcurrency": 1, "regionOrder": order},
    }

    # When
    status, started = api("POST", "/rules", request)
    assert status == 202, started
    done = wait_rollout(started["rolloutId"])

    # Then: the first region was put back, the failing one names its step, the last never started
    documented("GET", "/rollouts/{rolloutId}", 200, done)
    regions = done["regions"]
    assert done["status"] == "ROLLED_BACK"
    assert [(regions[r]["status"], regions[r]["step"]) for r in order] == [
        ("ROLLED_BACK", None),
        ("ROLLED_BACK", "ValidateRule"),
        ("SKIPPED", None),
    ]
    assert regions["eu-west-1"]["error"]["type"] == "RuleValidationFailed"


@pytest.mark.parametrize(
    ("raw", "status"),
    [("[" * 10_000 + "]" * 10_000, 422), (json.dumps({"padding": "x" * 300_000}), 413)],
    ids=["deep", "large"],
)
def test_hostile_bodies_over_http_are_refused_with_a_4xx(stack: EmbeddedStack, raw: str, status: int) -> None:
    answered, body = call_api(stack.api_url, "POST", "/rules", raw.encode())
    assert answered == status and body["errors"][0]["field"] == "body"
    documented("POST", "/rules", status, body)
