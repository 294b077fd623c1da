"""Credential health on the embedded stack: the sweep asks ECR to validate each target's rule, records healthy or
unhealthy with ECR's reason per target, and the API shows it; a rotation makes a refused target healthy again."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local import events_bridge
from local.emulator import ecr_extension
from local.iam_check import Call
from local.stack import EmbeddedStack
from tests.e2e.conftest import ApiCall, wait_until
from tests.e2e.test_drift_e2e import REGIONS, sweep_once
from tests.e2e.test_rotation_e2e import rolled_out, rotation_started
from tests.support import emf_documents, emf_points

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
    stack: EmbeddedStack, api: ApiCall, wait_rollout: WaitRollout
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


def test_a_credential_ten_days_from_expiry_raises_the_metric_and_the_event(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: WaitRollout, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = "expiry-soon"
    expires_at = (datetime.now(UTC) + timedelta(days=10, hours=-1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    sqs, events = stack.client("sqs"), stack.client("events")
    queue = sqs.create_queue(QueueName="credential-expiring")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": ["pullthrough"], "detail-type": ["Pull Through Cache Credential Expiring"]}
    events.put_rule(Name="credential-expiring", EventBusName=stack.event_bus_name, EventPattern=json.dumps(pattern))
    events.put_targets(Rule="credential-expiring", EventBusName=stack.event_bus_name, Targets=[{"Id": "q", "Arn": arn}])

    # Given: a rule whose token expires in 10 days, as the request says
    body = {
        "upstreamRegistry": "docker-hub",
        "ecrRepositoryPrefix": prefix,
        "credentials": {"username": "expiry-user", "accessToken": "expiring-token", "expiresAt": expires_at},
        "regions": REGIONS,
    }
    status, started = api("POST", "/rules", body)
    assert status == 202, started
    assert wait_rollout(started["rolloutId"])["status"] == "SUCCEEDED"

    # Then: the expiry is a tag on the source secret, never in its value; GET /rules counts the days left
    source = stack.client("secretsmanager")
    tags = source.describe_secret(SecretId=f"ecr-pullthroughcache/_source/{prefix}")["Tags"]
    assert {"Key": "pullthrough:credential-expires-at", "Value": expires_at} in tags
    value = json.loads(source.get_secret_value(SecretId=f"ecr-pullthroughcache/_source/{prefix}")["SecretString"])
    assert set(value) == {"username", "accessToken"}
    status, rule = api("GET", f"/rules/{prefix}")
    assert (rule["credentialExpiresAt"], rule["daysToCredentialExpiry"]) == (expires_at, 10)

    # When: the sweep runs
    capsys.readouterr()
    summary = sweep_once(stack, "report", prefix)

    # Then: DaysToCredentialExpiry says 10 for the rule, and Credential Expiring is on the app's bus
    assert summary["credentials"][prefix] == {"expiresAt": expires_at, "daysLeft": 10}
    points = emf_points([document for _, document in emf_documents(capsys.readouterr().out)])
    assert points[("DaysToCredentialExpiry", (("prefix", prefix),))] == 10

    def announced() -> list[dict[str, Any]] | None:
        got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        details = [json.loads(m["Body"])["detail"] for m in got]
        return [d for d in details if d["prefix"] == prefix] or None

    assert wait_until(announced, 30, "Credential Expiring") == [
        {"prefix": prefix, "expiresAt": expires_at, "daysLeft": 10}
    ]
    events.remove_targets(Rule="credential-expiring", EventBusName=stack.event_bus_name, Ids=["q"])
    events.delete_rule(Name="credential-expiring", EventBusName=stack.event_bus_name)


@pytest.mark.parametrize("function", ["ApiFunction", "RuleRequestedFunction"])
def test_the_expiry_tag_is_the_only_tag_the_request_paths_may_set_on_a_named_secret(
    stack: EmbeddedStack, function: str
) -> None:
    """Misuse: the grant that tags a credential's expiry must not let a caller mark someone's secret as pullthrough's."""
    assert stack.iam is not None
    named = "ecr-pullthroughcache/team-token"

    def tagging(key: str) -> Call:
        tags = [{"Key": key, "Value": "x"}]
        return Call("secretsmanager", "TagResource", {"SecretId": named, "Tags": tags}, stack.region, stack.account_id)

    assert stack.iam.check(function, tagging("pullthrough:credential-expires-at")) == []
    assert stack.iam.check(function, tagging("managed-by")) != []
    untag = {"SecretId": named, "TagKeys": ["managed-by"]}
    assert stack.iam.check(function, Call("secretsmanager", "UntagResource", untag, stack.region, stack.account_id))
