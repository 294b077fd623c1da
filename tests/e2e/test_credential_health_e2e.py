"""Credential health on the embedded stack: the sweep asks ECR to validate each target's rule, records healthy or
unhealthy with ECR's reason per target, and the API shows it; a rotation makes a refused target healthy again."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from local import events_bridge
from local.emulator import ecr_extension
from local.stack import LocalStack
from tests.e2e.conftest import ApiCall
from tests.e2e.test_drift_e2e import REGIONS, sweep_once
from tests.e2e.test_rotation_e2e import rolled_out, rotation_started

pytestmark = pytest.mark.e2e

WaitRollout = Callable[..., dict[str, Any]]
REFUSING = "eu-west-1"
REFUSAL = "Unable to authenticate with the upstream registry"


def health_by_region(api: ApiCall, prefix: str) -> dict[str, Any]:
    status, rule = api("GET", f"/rules/{prefix}")
    assert status == 200, rule
    return {t["region"]: t.get("health") for t in rule["deployedTargets"]}


def summary_of(api: ApiCall, prefix: str) -> dict[str, Any]:
    status, listed = api("GET", "/rules")
    assert status == 200, listed
    (rule,) = [r for r in listed["rules"] if r["prefix"] == prefix]
    return dict(rule["health"])


def test_the_sweep_marks_a_refused_target_unhealthy_and_a_rotation_makes_it_healthy_again(
    stack: LocalStack, api: ApiCall, wait_rollout: WaitRollout
) -> None:
    prefix = "health-check"
    source = rolled_out(api, wait_rollout, prefix)

    # Given: ECR's validation fails in one target (its upstream refuses the credential)
    ecr_extension.fail_validation(prefix, REFUSAL, region=REFUSING)

    # When: the sweep runs
    summary = sweep_once(stack, "report", prefix)

    # Then: that target is unhealthy with ECR's reason, the others healthy; GET /rules sums it up
    assert summary["health"][prefix]["unhealthyTargets"] == 1
    health = health_by_region(api, prefix)
    assert health[REFUSING]["status"] == "unhealthy" and health[REFUSING]["reason"] == REFUSAL
    assert {r: h["status"] for r, h in health.items() if r != REFUSING} == dict.fromkeys(
        [r for r in REGIONS if r != REFUSING], "healthy"
    )
    assert summary_of(api, prefix) | {"checkedAt": None} == {
        "status": "unhealthy",
        "unhealthyTargets": 1,
        "checkedAt": None,
    }

    # When: the upstream accepts the new token someone puts in the source secret, which rolls out by itself
    ecr_extension.clear()
    stack.client("secretsmanager").put_secret_value(
        SecretId=source, SecretString=json.dumps({"username": "rotation-user", "accessToken": "working-token"})
    )
    assert wait_rollout(rotation_started(stack, prefix))["status"] == "SUCCEEDED"
    assert events_bridge.wait_idle(timeout=60)

    # Then: the next sweep finds every target healthy
    sweep_once(stack, "report", prefix)
    assert {h["status"] for h in health_by_region(api, prefix).values()} == {"healthy"}
    assert summary_of(api, prefix)["status"] == "healthy"
