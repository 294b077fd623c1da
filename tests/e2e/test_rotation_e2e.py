"""Rotation on the embedded stack: a source secret changed by hand in the home region (the emulator emits CloudTrail's
event to the default bus, as AWS does) rolls the rule out to every target by the event alone, all or nothing, once per
burst of changes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from local import events_bridge
from local.emulator import ecr_extension
from local.iam_check import Call
from local.stack import EmbeddedStack
from pullthrough.adapters.store import RolloutStore
from tests.e2e.conftest import ApiCall, get_rollout_item, wait_until
from tests.e2e.test_drift_e2e import REGIONS
from tests.e2e.test_drift_e2e import rolled_out as docker_hub_rule

pytestmark = pytest.mark.e2e

WaitRollout = Callable[..., dict[str, Any]]


def rolled_out(api: ApiCall, wait_rollout: WaitRollout, prefix: str) -> str:
    """Given: a docker-hub rule for ``prefix`` in three regions, from inline credentials; its source secret's name."""
    docker_hub_rule(api, wait_rollout, prefix)
    assert events_bridge.wait_idle(timeout=60)  # the API's own write of the source secret changes nothing
    return f"ecr-pullthroughcache/_source/{prefix}"


def regional_values(stack: EmbeddedStack, prefix: str) -> dict[str, str]:
    return {
        region: stack.client("secretsmanager", region).get_secret_value(SecretId=f"ecr-pullthroughcache/{prefix}")[
            "SecretString"
        ]
        for region in REGIONS
    }


def rotation_rollouts(stack: EmbeddedStack, prefix: str) -> list[dict[str, Any]]:
    """Every rollout of ``prefix`` that a source secret change started (trigger ``rotation``)."""
    found = stack.client("dynamodb").scan(
        TableName=stack.environment["TABLE_NAME"],
        FilterExpression="sk = :sk AND #p = :prefix AND #t = :trigger",
        ExpressionAttributeNames={"#p": "prefix", "#t": "trigger"},
        ExpressionAttributeValues={":sk": {"S": "ROLLOUT"}, ":prefix": {"S": prefix}, ":trigger": {"S": "rotation"}},
        ConsistentRead=True,
    )["Items"]
    return [get_rollout_item(stack, item["rolloutId"]["S"]) for item in found]


def rotation_started(stack: EmbeddedStack, prefix: str) -> str:
    """The id of the one rollout a source secret change started for ``prefix`` (the rule item would not do: a
    rollback puts the previous lastRolloutId back)."""

    def probe() -> str | None:
        found = rotation_rollouts(stack, prefix)
        return found[0]["rolloutId"]["S"] if found else None

    return wait_until(probe, 60, f"a rotation rollout of {prefix}")


def test_a_source_secret_changed_by_hand_reaches_every_target_by_the_event_alone(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: WaitRollout
) -> None:
    prefix = "rotate-by-hand"
    source = rolled_out(api, wait_rollout, prefix)
    new_value = json.dumps({"username": "rotation-user", "accessToken": "second-token"})

    # When: someone puts a new value in the source secret, in the home region, and nothing else
    stack.client("secretsmanager").put_secret_value(SecretId=source, SecretString=new_value)

    # Then: one rollout, started by the change (trigger rotation), carries it to every target
    rollout_id = rotation_started(stack, prefix)
    assert wait_rollout(rollout_id)["status"] == "SUCCEEDED"
    assert get_rollout_item(stack, rollout_id)["trigger"] == {"S": "rotation"}
    assert regional_values(stack, prefix) == dict.fromkeys(REGIONS, new_value)
    assert events_bridge.wait_idle(timeout=60)
    assert [r["rolloutId"]["S"] for r in rotation_rollouts(stack, prefix)] == [rollout_id]


def test_a_rotation_one_target_refuses_leaves_every_target_on_the_old_version(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: WaitRollout
) -> None:
    prefix = "rotate-refused"
    source = rolled_out(api, wait_rollout, prefix)
    before = regional_values(stack, prefix)
    # Given: the upstream behind one target refuses the new credential (ECR's validation fails there)
    ecr_extension.fail_validation(prefix, "upstream registry refused the credentials", region="ap-southeast-2")

    stack.client("secretsmanager").put_secret_value(
        SecretId=source, SecretString=json.dumps({"username": "rotation-user", "accessToken": "refused-token"})
    )

    # Then: the rotation's rollout is rolled back, and every target carries the old version again
    rollout_id = rotation_started(stack, prefix)
    assert wait_rollout(rollout_id)["status"] == "ROLLED_BACK"
    assert regional_values(stack, prefix) == before


def test_three_changes_within_the_debounce_window_make_one_rollout(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: WaitRollout
) -> None:
    prefix = "rotate-thrice"
    source = rolled_out(api, wait_rollout, prefix)
    values = [json.dumps({"username": "rotation-user", "accessToken": f"token-{n}"}) for n in range(3)]

    # When: three changes in a row (PutSecretValue twice, then UpdateSecret), well within the 2 s local window
    sm = stack.client("secretsmanager")
    sm.put_secret_value(SecretId=source, SecretString=values[0])
    sm.put_secret_value(SecretId=source, SecretString=values[1])
    sm.update_secret(SecretId=source, SecretString=values[2])

    # Then: once every change event is handled, one rollout started, and it carried the last value everywhere
    assert events_bridge.wait_idle(timeout=120)
    (rollout,) = rotation_rollouts(stack, prefix)
    assert wait_rollout(rollout["rolloutId"]["S"])["status"] == "SUCCEEDED"
    assert regional_values(stack, prefix) == dict.fromkeys(REGIONS, values[2])


def test_a_change_to_a_secret_no_rule_uses_starts_nothing(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: WaitRollout
) -> None:
    prefix = "rotate-other"
    rolled_out(api, wait_rollout, prefix)
    before = api("GET", f"/rules/{prefix}")[1]["lastRolloutId"]
    sm = stack.client("secretsmanager")
    other = sm.create_secret(Name="ecr-pullthroughcache/unrelated", SecretString=json.dumps({"a": "b"}))["ARN"]

    sm.put_secret_value(SecretId=other, SecretString=json.dumps({"a": "c"}))

    assert events_bridge.wait_idle(timeout=60)
    assert api("GET", f"/rules/{prefix}")[1]["lastRolloutId"] == before
    assert rotation_rollouts(stack, prefix) == []


@pytest.mark.parametrize(("field", "value"), [("account", "210987654321"), ("region", "eu-west-1")])
def test_a_forged_change_event_from_another_account_or_region_is_refused(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: WaitRollout, field: str, value: str
) -> None:
    prefix = f"rotate-forged-{field}"
    source = rolled_out(api, wait_rollout, prefix)
    forged = {
        "version": "0",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.secretsmanager",
        "account": "123456789012",
        "region": "us-east-1",
        "detail": {
            "eventSource": "secretsmanager.amazonaws.com",
            "eventName": "PutSecretValue",
            "awsRegion": "us-east-1",
            "recipientAccountId": "123456789012",
            "requestParameters": {"secretId": source},
        },
    }
    forged[field] = value
    before = api("GET", f"/rules/{prefix}")[1]["lastRolloutId"]

    # When: an event naming the rule's source secret arrives from another account or region (forged or forwarded)
    out, errored = stack.invoke("SourceSecretChangedFunction", forged)

    # Then: it is refused, naming what gave it away, and nothing is rolled out or marked
    assert not errored and out["ignored"] and out["field"] == field, out
    rule = api("GET", f"/rules/{prefix}")[1]
    assert rule["lastRolloutId"] == before


def test_the_rotation_function_reads_no_secret_value_and_writes_no_secret(stack: EmbeddedStack) -> None:
    """Misuse: what starts rotations may describe a source secret (its version), never read or change one."""
    assert stack.iam is not None
    source = {"SecretId": "ecr-pullthroughcache/_source/docker-hub"}

    def check(operation: str, **params: Any) -> list[str]:
        made = Call("secretsmanager", operation, source | params, stack.region, stack.account_id)
        return stack.iam.check("SourceSecretChangedFunction", made)  # type: ignore[union-attr]

    assert check("DescribeSecret") == []
    assert check("GetSecretValue") != []
    assert check("PutSecretValue", SecretString="x") != []
    assert check("TagResource", Tags=[{"Key": "pullthrough:credential-expires-at", "Value": "x"}]) != []


def test_a_rotation_of_a_rule_for_an_ou_waits_out_a_running_rollout_then_reaches_the_ous_accounts(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: WaitRollout
) -> None:
    """The rotation function expands the rule's OU again (Organizations reads) and, finding the rule busy, asks the
    state machine whether the holder still runs (DescribeExecution) before it waits: every grant it holds is used."""
    org = stack.organization
    assert org is not None
    prefix = "rotate-ou"
    body = {
        "upstreamRegistry": "docker-hub",
        "ecrRepositoryPrefix": prefix,
        "credentials": {"username": "rotation-user", "accessToken": "first-token"},
        "regions": ["eu-west-1"],
        "organizationalUnits": [org.ous["sandbox"]],
    }
    status, started = api("POST", "/rules", body)
    assert status == 202, started
    first = wait_rollout(started["rolloutId"])
    assert first["status"] == "SUCCEEDED", first
    members = sorted({t["account"] for t in first["targets"]})
    assert members and stack.account_id not in members
    assert events_bridge.wait_idle(timeout=60)

    # Given: another change holds the rule's lock (its execution not started yet)
    store = RolloutStore(stack.client("dynamodb"), stack.environment["TABLE_NAME"])
    store.acquire_lock(prefix, "r-" + "0" * 32)
    new_value = json.dumps({"username": "rotation-user", "accessToken": "second-token"})
    stack.client("secretsmanager").put_secret_value(
        SecretId=f"ecr-pullthroughcache/_source/{prefix}", SecretString=new_value
    )
    time.sleep(4)  # past the 2 s debounce: the rotation finds the rule busy and waits
    assert not rotation_rollouts(stack, prefix)
    store.release_lock(prefix, "r-" + "0" * 32)

    # Then: the rotation's rollout starts once the lock is free and reaches every account of the OU
    rollout_id = rotation_started(stack, prefix)
    finished = wait_rollout(rollout_id)
    assert finished["status"] == "SUCCEEDED", finished
    assert sorted({t["account"] for t in finished["targets"]}) == members
    for account in members:
        held = stack.client("secretsmanager", "eu-west-1", account=account).get_secret_value(
            SecretId=f"ecr-pullthroughcache/{prefix}"
        )
        assert held["SecretString"] == new_value
