"""Every failure path ends and tells someone: a final record, a free lock, one Finished event, nothing half-applied.

Three ways a rollout can lose its normal ending: FinishRollout failing for good (the state machine's CloseRollout
step closes it), the progress record failing to be written inside the region Map (the Map must not fail), and the
execution being stopped by hand (the Execution Status Change event starts a recovery execution that rolls every
region back and finishes the rollout).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from local import faults
from local.stack import EmbeddedStack
from tests.e2e.conftest import (
    ApiCall,
    execution_history,
    new_rollout_id,
    rollout_input,
    source_secret,
    wait_until,
)

pytestmark = pytest.mark.e2e

REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]
FINISHED = "Pull Through Cache Rollout Finished"
TEMPLATE = {"description": "failure paths"}


@pytest.fixture
def finished_events(stack: EmbeddedStack) -> Iterator[Callable[[str], list[dict[str, Any]]]]:
    """An SQS queue behind a rule for the app's Finished events; ``of(rollout_id)`` lists those of one rollout."""
    sqs, events = stack.client("sqs"), stack.client("events")
    url = sqs.create_queue(QueueName="failure-paths-finished")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = stack.event_bus_name
    events.put_rule(
        Name="failure-paths-finished",
        EventBusName=bus,
        EventPattern=json.dumps({"source": ["pullthrough"], "detail-type": [FINISHED]}),
        State="ENABLED",
    )
    events.put_targets(Rule="failure-paths-finished", EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
    received: list[dict[str, Any]] = []

    def of(rollout_id: str) -> list[dict[str, Any]]:
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        received.extend(json.loads(m["Body"]) for m in answer.get("Messages", []))
        return [e for e in received if e["detail"]["rolloutId"] == rollout_id]

    yield of
    events.remove_targets(Rule="failure-paths-finished", EventBusName=bus, Ids=["queue"])
    events.delete_rule(Name="failure-paths-finished", EventBusName=bus)
    sqs.delete_queue(QueueUrl=url)


def body(prefix: str, **rollout: Any) -> dict[str, Any]:
    return {
        "upstreamRegistry": "quay",
        "ecrRepositoryPrefix": prefix,
        "regions": REGIONS,
        "creationTemplate": TEMPLATE,
        "rollout": rollout,
    }


def rules_in(stack: EmbeddedStack, prefix: str) -> dict[str, bool]:
    return {
        region: any(
            r["ecrRepositoryPrefix"] == prefix
            for r in stack.client("ecr", region).describe_pull_through_cache_rules()["pullThroughCacheRules"]
        )
        for region in REGIONS
    }


def test_finish_failing_for_good_is_closed_with_the_reason_and_the_lock_released(
    stack: EmbeddedStack,
    api: ApiCall,
    wait_rollout: Callable[..., dict[str, Any]],
    step_faults: faults.StepFaults,
    finished_events: Callable[[str], list[dict[str, Any]]],
) -> None:
    prefix = "paths-finish"
    step_faults.inject("FinishRolloutFunction", None, error_type="AccessDenied", times=None, prefix=prefix)
    status, started = api("POST", "/rules", body(prefix))
    assert status == 202, started

    ended = wait_rollout(started["rolloutId"])

    # FinishRollout could not say whether to roll back: every region was rolled back (all or nothing), then closed.
    assert ended["status"] == "FAILED"
    assert ended["error"]["type"] == "AccessDenied"
    assert rules_in(stack, prefix) == dict.fromkeys(REGIONS, False)
    events = wait_until(lambda: finished_events(started["rolloutId"]) or None, 30, "the Finished event")
    assert [e["detail"]["status"] for e in events] == ["FAILED"]
    step_faults.clear()
    status, again = api("POST", "/rules", body(prefix))  # the lock is free
    assert status == 202, again
    assert wait_rollout(again["rolloutId"])["status"] == "SUCCEEDED"


def test_progress_records_that_cannot_be_written_do_not_fail_the_region_map(stack: EmbeddedStack) -> None:
    """No rollout item: every RecordRegion write fails (SET on a missing map) after its retries."""
    execution_input = rollout_input(
        new_rollout_id(),
        {"ecrRepositoryPrefix": "paths-records", "upstreamRegistry": "quay", "upstreamRegistryUrl": "quay.io"},
        REGIONS,
    )
    started = stack.client("stepfunctions").start_execution(
        stateMachineArn=stack.state_machine_arn, name=execution_input["rolloutId"], input=json.dumps(execution_input)
    )
    described = stack.wait_for_execution(started["executionArn"], timeout=120)

    assert described["status"] == "SUCCEEDED", described.get("cause")
    entered = [
        e["stateEnteredEventDetails"]["name"]
        for e in execution_history(stack, started["executionArn"])
        if "stateEnteredEventDetails" in e
    ]
    assert entered.count("RecordLost") == len(REGIONS)
    assert "FinishRollout" in entered
    assert rules_in(stack, "paths-records") == dict.fromkeys(REGIONS, True)


def test_an_execution_stopped_by_hand_is_rolled_back_and_finished(
    stack: EmbeddedStack,
    api: ApiCall,
    wait_rollout: Callable[..., dict[str, Any]],
    step_faults: faults.StepFaults,
    finished_events: Callable[[str], list[dict[str, Any]]],
) -> None:
    prefix = "paths-stopped"
    hold = step_faults.hold("ApplyTemplateFunction", REGIONS[-1], prefix=prefix, timeout=30)
    status, started = api("POST", "/rules", body(prefix))
    assert status == 202, started
    assert hold.reached.wait(30)
    sfn = stack.client("stepfunctions")
    execution = stack.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{started['rolloutId']}"

    sfn.stop_execution(executionArn=execution, error="Operator", cause="stopped by hand")
    hold.release()  # the call in flight still lands, as on AWS
    stopped = wait_until(
        lambda: ((d := sfn.describe_execution(executionArn=execution))["status"] != "RUNNING" and d) or None,
        60,
        "the stopped execution to end",
    )
    assert (stopped["status"], stopped.get("error"), stopped.get("cause")) == ("ABORTED", None, None)

    ended = wait_rollout(started["rolloutId"], timeout=120)
    assert ended["status"] == "ROLLED_BACK", ended
    assert rules_in(stack, prefix) == dict.fromkeys(REGIONS, False)
    events = wait_until(lambda: finished_events(started["rolloutId"]) or None, 30, "the Finished event")
    assert [e["detail"]["status"] for e in events] == ["ROLLED_BACK"]
    assert api("GET", f"/rules/{prefix}")[0] == 404  # a first rollout rolled back leaves no desired rule
    status, again = api("POST", "/rules", body(prefix))
    assert status == 202, again  # the lock is free
    assert wait_rollout(again["rolloutId"])["status"] == "SUCCEEDED"


def test_a_credential_secret_rollout_deleted_twice_finishes_both_times(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: Callable[..., dict[str, Any]]
) -> None:
    """POST inline -> DELETE -> POST with credentialSecretArn -> DELETE: the second DELETE meets a source secret
    already scheduled for deletion (Secrets Manager refuses a second DeleteSecret)."""
    prefix = "paths-twice"
    inline = {
        "upstreamRegistry": "docker-hub",
        "ecrRepositoryPrefix": prefix,
        "credentials": {"username": "u", "accessToken": "t"},
        "regions": REGIONS[:1],
    }
    for request in (inline, None):
        if request is None:
            arn = source_secret(stack, "paths-twice-named", {"username": "u", "accessToken": "t2"})
            request = {k: v for k, v in inline.items() if k != "credentials"} | {"credentialSecretArn": arn}
        status, started = api("POST", "/rules", request)
        assert status == 202, started
        assert wait_rollout(started["rolloutId"])["status"] == "SUCCEEDED"
        status, deleting = api("DELETE", f"/rules/{prefix}")
        assert status == 202, deleting
        assert wait_rollout(deleting["rolloutId"])["status"] == "SUCCEEDED"
