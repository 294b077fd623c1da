"""Property-based: whatever body arrives at POST /rules or on the bus, no 5xx, no unhandled exception, and every
refusal names a field."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from pullthrough import aws
from pullthrough.registries import UPSTREAM_NAMES, UPSTREAMS
from tests.integration.app_support import api, provision
from tests.support import CANARY, FakeContext, load_handler

TRIGGER = load_handler("on_rule_requested")
FINISH = load_handler("finish_rollout")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=10,
)
regions = st.lists(st.sampled_from(["us-east-1", "eu-west-1", "ap-southeast-2"]) | st.text(max_size=15), max_size=4)
credentials = st.none() | st.fixed_dictionaries(
    {}, optional={"username": st.text(max_size=10) | json_values, "accessToken": st.just(CANARY) | json_values}
)


@st.composite
def valid_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """Requests that should be accepted: the generator must reach the 202 path, not only refusals."""
    registry = draw(st.sampled_from(UPSTREAM_NAMES))
    body: dict[str, Any] = {
        "upstreamRegistry": registry,
        "regions": draw(
            st.lists(st.sampled_from(["us-east-1", "eu-west-1", "ap-southeast-2"]), min_size=1, max_size=3, unique=True)
        ),
    }
    if UPSTREAMS[registry].needs_secret:
        body["credentials"] = {"username": draw(st.text(min_size=1, max_size=10)), "accessToken": CANARY}
    if registry == "azure-container-registry":
        body["upstreamRegistryUrl"] = draw(st.from_regex(r"[a-z0-9]{5,12}", fullmatch=True))
    if registry == "ecr":
        body["upstreamRegistryUrl"] = "111122223333.dkr.ecr.us-west-2.amazonaws.com"
    if draw(st.booleans()):
        body["ecrRepositoryPrefix"] = draw(st.from_regex(r"[a-z0-9]{2,10}(/[a-z0-9]{1,8})?", fullmatch=True))
    if draw(st.booleans()):
        body["creationTemplate"] = draw(st.none() | st.just({"imageTagMutability": "IMMUTABLE"}))
    return body


@st.composite
def mutated_bodies(draw: st.DrawFn) -> Any:
    """A valid request with one field removed or replaced by arbitrary JSON."""
    body = draw(valid_bodies())
    key = draw(st.sampled_from([*body, "rollout", "unexpected"]))
    if draw(st.booleans()) and key in body:
        del body[key]
    else:
        body[key] = draw(json_values)
    return body


rule_bodies = (
    valid_bodies()
    | mutated_bodies()
    | st.fixed_dictionaries(
        {},
        optional={
            "upstreamRegistry": st.sampled_from(UPSTREAM_NAMES) | st.text(max_size=12),
            "ecrRepositoryPrefix": st.from_regex(r"[a-z0-9][a-z0-9./_-]{0,32}", fullmatch=True) | json_values,
            "upstreamRegistryUrl": st.text(max_size=30) | json_values,
            "upstreamRepositoryPrefix": st.text(max_size=12) | json_values,
            "credentials": credentials,
            "credentialSecretArn": st.just(
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/x-AbCdEf"
            )
            | json_values,
            "customRoleArn": st.just("arn:aws:iam::123456789012:role/r") | json_values,
            "regions": regions | json_values,
            "creationTemplate": st.none()
            | st.fixed_dictionaries(
                {}, optional={"imageTagMutability": st.text(max_size=12), "description": st.text(max_size=300)}
            )
            | json_values,
            "accounts": st.lists(st.from_regex(r"\d{12}", fullmatch=True) | st.text(max_size=13), max_size=3)
            | json_values,
            "organizationalUnits": st.lists(
                st.from_regex(r"ou-[a-z0-9]{4}-[a-z0-9]{8}|r-[a-z0-9]{4}", fullmatch=True) | st.text(max_size=20),
                max_size=3,
            )
            | json_values,
            "retainOnAccountRemoval": json_values,
            "rollout": st.fixed_dictionaries(
                {},
                optional={
                    "maxConcurrency": st.integers(-2, 50),
                    "failureTolerance": st.integers(-2, 5),
                    "failureTolerancePercentage": st.integers(-5, 105),
                    "accountConcurrency": st.integers(-2, 1002),
                },
            )
            | json_values,
            "extra": json_values,
        },
    )
    | json_values
)


@pytest.fixture(scope="module")
def module_app() -> Iterator[None]:
    aws.reset()
    with mock_aws(), pytest.MonkeyPatch.context() as monkeypatch:
        provision(monkeypatch)
        yield
    aws.reset()


def free_prefix(answer: dict[str, Any]) -> None:
    """Finish a started rollout so the next example is not refused as busy."""
    if answer.get("rolloutId") and answer.get("status") == "RUNNING":
        FINISH.handler(
            {"rolloutId": answer["rolloutId"], "prefix": answer["prefix"], "regionResults": []}, FakeContext()
        )


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(body=rule_bodies)
def test_post_rules_never_5xx_and_every_refusal_names_a_field(module_app: None, body: Any) -> None:
    status, answer = api("POST", "/rules", body)
    assert status < 500, answer
    assert CANARY not in json.dumps(answer)
    if status >= 400:
        assert answer["message"] and answer["errors"] and all(e["field"] for e in answer["errors"])
    else:
        assert status == 202
        free_prefix(answer)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(detail=rule_bodies)
def test_eventbridge_details_never_raise_and_every_refusal_names_a_field(module_app: None, detail: Any) -> None:
    event = {
        "version": "0",
        "id": "e",
        "detail-type": "Pull Through Cache Rule Requested",
        "source": "pullthrough",
        "detail": detail,
    }
    out = TRIGGER.handler(event, FakeContext())
    assert CANARY not in json.dumps(out)
    if out["accepted"]:
        free_prefix(out)
    else:
        assert out["field"] and out["reason"]
