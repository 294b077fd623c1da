"""Every asynchronous trigger keeps what it could not deliver, and someone hears of it.

On the SAM-translated template: each EventBridge rule's target (events on the app's bus, the execution-status rule
that starts recoveries, the sweep's schedule) has a dead-letter queue that EventBridge may write to (its queue
policy names that rule), each function those rules invoke sends the events it failed on to a dead-letter queue too
(EventInvokeConfig OnFailure), and every such queue is encrypted and alarmed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from local.iam_policies import translate

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    return dict(translate(ROOT / "template.yaml")["Resources"])


def of_type(resources: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {lid: r.get("Properties") or {} for lid, r in resources.items() if r["Type"] == kind}


def queue_of(arn: Any, resources: dict[str, Any]) -> str:
    """The logical id of the queue ``arn`` (a GetAtt) names; fails for anything else."""
    assert isinstance(arn, dict) and "Fn::GetAtt" in arn, f"not a queue of the stack: {arn}"
    queue, attribute = arn["Fn::GetAtt"]
    assert attribute == "Arn" and resources[queue]["Type"] == "AWS::SQS::Queue", arn
    return str(queue)


def rule_arns_allowed(policy: dict[str, Any]) -> list[Any]:
    allowed: list[Any] = []
    for statement in policy["PolicyDocument"]["Statement"]:
        if statement.get("Principal") == {"Service": "events.amazonaws.com"} and statement["Effect"] == "Allow":
            found = statement["Condition"]["ArnEquals"]["aws:SourceArn"]
            allowed += found if isinstance(found, list) else [found]
    return allowed


def test_every_rule_target_has_a_dead_letter_queue_eventbridge_may_write_to(resources: dict[str, Any]) -> None:
    rules = of_type(resources, "AWS::Events::Rule")
    assert {"RecoverRolloutFunctionExecutionEnded", "DriftSweepFunctionSweep"} <= set(rules)
    policies = of_type(resources, "AWS::SQS::QueuePolicy")
    for lid, rule in rules.items():
        for target in rule["Targets"]:
            assert "DeadLetterConfig" in target, f"{lid}: undeliverable events are dropped"
            queue = queue_of(target["DeadLetterConfig"]["Arn"], resources)
            allowed = [
                arn
                for policy in policies.values()
                if {"Ref": queue} in policy["Queues"]
                for arn in rule_arns_allowed(policy)
            ]
            name = rule.get("Name")
            by_name = any(isinstance(a, dict) and str(a.get("Fn::Sub", "")).endswith(f"/{name}") for a in allowed)
            assert {"Fn::GetAtt": [lid, "Arn"]} in allowed or (name and by_name), f"{lid}: {queue} refuses it"


def test_every_function_a_rule_invokes_dead_letters_what_it_failed_on(resources: dict[str, Any]) -> None:
    aliases = {
        target["Arn"]["Ref"] for rule in of_type(resources, "AWS::Events::Rule").values() for target in rule["Targets"]
    }
    configs = {
        f"{c['FunctionName']['Ref']}Alias{c['Qualifier']}": c
        for c in of_type(resources, "AWS::Lambda::EventInvokeConfig").values()
    }
    for alias in aliases:
        assert alias in configs, f"{alias}: no EventInvokeConfig, its failed events are dropped"
        queue_of(configs[alias]["DestinationConfig"]["OnFailure"]["Destination"], resources)


def test_every_dead_letter_queue_is_encrypted_and_alarmed(resources: dict[str, Any]) -> None:
    queues = of_type(resources, "AWS::SQS::Queue")
    assert len(queues) >= 3  # the app's requests, the recoveries, the sweep
    alarmed = {
        dimension["Value"]["Fn::GetAtt"][0]
        for alarm in of_type(resources, "AWS::CloudWatch::Alarm").values()
        if alarm.get("Namespace") == "AWS/SQS" and alarm.get("MetricName") == "ApproximateNumberOfMessagesVisible"
        for dimension in alarm["Dimensions"]
        if dimension["Name"] == "QueueName"
    }
    for lid, queue in queues.items():
        assert queue.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in queue, f"{lid}: unencrypted"
        assert queue.get("MessageRetentionPeriod") == 1209600, f"{lid}: keep dead letters 14 days"
        assert lid in alarmed, f"{lid}: no alarm on it"
