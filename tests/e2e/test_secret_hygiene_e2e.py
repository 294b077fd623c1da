"""A credential value exists only in Secrets Manager, end to end on the embedded stack.

Canary credentials go in through POST /rules (one rolled out, a second rolled out and then rolled back) and inline
in an EventBridge event (refused). Afterwards neither canary may appear in any captured log line, execution input,
output or history event, DynamoDB item, event the app emitted, or API response body; and both must be in Secrets
Manager where they belong, or the test would prove nothing.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from local import faults
from local.stack import EmbeddedStack
from pullthrough.observability import logger as app_logger
from tests.e2e.conftest import ApiCall, wait_until

pytestmark = pytest.mark.e2e

WaitRollout = Callable[..., dict[str, Any]]
PREFIX = "hygiene"
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]
ROLLED_OUT = f"CANARY-kept-{uuid.uuid4().hex}"  # rolled out, stays current
ROLLED_BACK = f"CANARY-undone-{uuid.uuid4().hex}"  # rolled out, then rolled back
CANARIES = (ROLLED_OUT, ROLLED_BACK)
REQUESTED = "Pull Through Cache Rule Requested"


@pytest.fixture(scope="module")
def stack() -> Iterator[EmbeddedStack]:
    """This module's own stack: the functions log at DEBUG, the most a deployment could be configured to log."""
    with EmbeddedStack(aws_port=0, api_port=0, parameters={"LogLevel": "DEBUG"}) as running:
        yield running


class LogCapture(logging.Handler):
    """Every record at DEBUG and above: its message, its extra fields and any traceback, as text."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.loggers: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        parts = [record.getMessage(), repr(record.__dict__)]
        if record.exc_info:
            parts.append(logging.Formatter().formatException(record.exc_info))
        self.lines.append(" ".join(parts))
        self.loggers.add(record.name)


@pytest.fixture
def captured_logs(stack: EmbeddedStack) -> Iterator[LogCapture]:
    """Root logger at DEBUG with a capturing handler, also on every logger that does not propagate (Powertools')."""
    handler = LogCapture()
    root = logging.getLogger()
    saved_root, saved_app = root.level, app_logger.log_level
    loggers = [root] + [
        found
        for found in logging.root.manager.loggerDict.values()
        if isinstance(found, logging.Logger) and not found.propagate
    ]
    if app_logger.name not in {found.name for found in loggers}:
        loggers.append(logging.getLogger(app_logger.name))
    root.setLevel(logging.DEBUG)
    app_logger.setLevel(logging.DEBUG)
    for found in loggers:
        found.addHandler(handler)
    yield handler
    for found in loggers:
        found.removeHandler(handler)
    root.setLevel(saved_root)
    app_logger.setLevel(saved_app)


@pytest.fixture
def app_events(stack: EmbeddedStack) -> Iterator[Callable[[int], list[dict[str, Any]]]]:
    """An SQS queue behind a rule on the default bus for source ``pullthrough`` (what the app emits; the requests we
    put ourselves are left out). Yields ``receive(n)``: waits for at least n events, returns them all."""
    sqs, events = stack.client("sqs"), stack.client("events")
    queue_url = sqs.create_queue(QueueName="hygiene-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": ["pullthrough"], "detail-type": [{"anything-but": [REQUESTED]}]}
    bus = stack.event_bus_name
    events.put_rule(Name="hygiene-app-events", EventBusName=bus, EventPattern=json.dumps(pattern), State="ENABLED")
    events.put_targets(Rule="hygiene-app-events", EventBusName=bus, Targets=[{"Id": "queue", "Arn": queue_arn}])
    received: list[dict[str, Any]] = []

    def receive(at_least: int) -> list[dict[str, Any]]:
        def probe() -> list[dict[str, Any]] | None:
            answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
            received.extend(json.loads(message["Body"]) for message in answer.get("Messages", []))
            return received if len(received) >= at_least else None

        return wait_until(probe, 60, f"{at_least} events from the app")

    yield receive
    events.remove_targets(Rule="hygiene-app-events", EventBusName=bus, Ids=["queue"])
    events.delete_rule(Name="hygiene-app-events", EventBusName=bus)
    sqs.delete_queue(QueueUrl=queue_url)


def execution_records(stack: EmbeddedStack, names: set[str]) -> list[dict[str, Any]]:
    """DescribeExecution (input, output, error) and the whole history of each execution."""
    sfn = stack.client("stepfunctions")
    records: list[dict[str, Any]] = []
    for name in sorted(names):
        arn = stack.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"
        records.append(sfn.describe_execution(executionArn=arn))
        for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn):
            records.extend(page["events"])
    return records


def execution_names(stack: EmbeddedStack) -> set[str]:
    sfn = stack.client("stepfunctions")
    pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=stack.state_machine_arn)
    return {execution["name"] for page in pages for execution in page["executions"]}


def table_items(stack: EmbeddedStack) -> list[dict[str, Any]]:
    pages = stack.client("dynamodb").get_paginator("scan").paginate(TableName=stack.environment["TABLE_NAME"])
    return [item for page in pages for item in page["Items"]]


def secret_versions(
    stack: EmbeddedStack, region: str, name: str, account: str | None = None
) -> dict[str, tuple[list[str], str]]:
    """Every version of a secret (in ``account``, a member of the local organization): id -> (stages, SecretString)."""
    sm = stack.client("secretsmanager", region, account=account)
    listed = sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]
    return {
        v["VersionId"]: (
            v.get("VersionStages", []),
            sm.get_secret_value(SecretId=name, VersionId=v["VersionId"])["SecretString"],
        )
        for v in listed
    }


def leaks(text: str) -> list[str]:
    return [canary for canary in CANARIES if canary in text]


def test_canary_credentials_exist_only_in_secrets_manager(
    stack: EmbeddedStack,
    api: ApiCall,
    wait_rollout: WaitRollout,
    step_faults: faults.StepFaults,
    captured_logs: LogCapture,
    app_events: Callable[[int], list[dict[str, Any]]],
    capfd: pytest.CaptureFixture[str],
) -> None:
    responses: list[Any] = []

    def call(method: str, path: str, body: Any = None) -> tuple[int, Any]:
        status, answer = api(method, path, body)
        responses.append(answer)
        return status, answer

    def rollout(token: str) -> dict[str, Any]:
        body = {
            "upstreamRegistry": "docker-hub",
            "ecrRepositoryPrefix": PREFIX,
            "credentials": {"username": "hygiene-user", "accessToken": token},
            "regions": REGIONS,
            "rollout": {"maxConcurrency": 1, "regionOrder": REGIONS},
        }
        status, started = call("POST", "/rules", body)
        assert status == 202, started
        finished = wait_rollout(started["rolloutId"])
        responses.append(finished)
        call("GET", f"/rollouts/{started['rolloutId']}")
        return finished

    existing = execution_names(stack)

    # Given: a rule rolled out with the first canary
    assert rollout(ROLLED_OUT)["status"] == "SUCCEEDED"
    # When: the second canary is rolled out to every region, and rolled back because the last one fails validation
    step_faults.inject("ValidateRuleFunction", REGIONS[-1], error_type="RuleValidationFailed", prefix=PREFIX)
    assert rollout(ROLLED_BACK)["status"] == "ROLLED_BACK"
    # ...and the second canary is sent inline on EventBridge, which must refuse it
    stack.client("events").put_events(
        Entries=[
            {
                "EventBusName": stack.event_bus_name,
                "Source": "pullthrough",
                "DetailType": REQUESTED,
                "Detail": json.dumps(
                    {
                        "upstreamRegistry": "docker-hub",
                        "ecrRepositoryPrefix": "hygiene-bus",
                        "credentials": {"username": "hygiene-user", "accessToken": ROLLED_BACK},
                        "regions": REGIONS,
                    }
                ),
            }
        ]
    )
    emitted = app_events(3)  # two Rollout Finished, one Rule Rejected
    call("GET", f"/rules/{PREFIX}")
    call("GET", "/rules")
    call("GET", "/rules/hygiene-bus")

    # Then: no canary in any log line the process wrote or any record it logged...
    captured = capfd.readouterr()
    assert not leaks(captured.out + captured.err)
    assert not leaks("\n".join(captured_logs.lines))
    assert app_logger.name in captured_logs.loggers, "the app's own log records were not captured"
    assert any("step done" in line for line in captured_logs.lines)
    # ...in any execution's input, output or history event...
    started = execution_names(stack) - existing
    assert len(started) == 2, started
    assert not leaks(json.dumps(execution_records(stack, started), default=str))
    # ...in the table...
    items = table_items(stack)
    assert items and not leaks(json.dumps(items))
    # ...in any event the app emitted...
    assert {event["detail-type"] for event in emitted} == {
        "Pull Through Cache Rollout Finished",
        "Pull Through Cache Rule Rejected",
    }
    assert not leaks(json.dumps(emitted))
    # ...or in any API response
    assert len(responses) == 9
    assert not leaks(json.dumps(responses))

    # ...but both are in Secrets Manager: the first is current in every region and in the home source secret, the
    # second was really stored in every region (a version that rollback took AWSCURRENT away from)
    sm_home = stack.client("secretsmanager")
    source = sm_home.get_secret_value(SecretId=f"ecr-pullthroughcache/_source/{PREFIX}")["SecretString"]
    assert json.loads(source)["accessToken"] == ROLLED_OUT
    for region in REGIONS:
        versions = secret_versions(stack, region, f"ecr-pullthroughcache/{PREFIX}")
        current = [value for stages, value in versions.values() if "AWSCURRENT" in stages]
        assert [json.loads(value)["accessToken"] for value in current] == [ROLLED_OUT], region
        undone = [stages for stages, value in versions.values() if json.loads(value)["accessToken"] == ROLLED_BACK]
        assert undone and all("AWSCURRENT" not in stages for stages in undone), region


ACROSS_KEPT = f"CANARY-org-kept-{uuid.uuid4().hex}"
ACROSS_UNDONE = f"CANARY-org-undone-{uuid.uuid4().hex}"


def test_canary_credentials_across_accounts_exist_only_in_each_accounts_secrets_manager(
    stack: EmbeddedStack,
    api: ApiCall,
    wait_rollout: WaitRollout,
    step_faults: faults.StepFaults,
    captured_logs: LogCapture,
    app_events: Callable[[int], list[dict[str, Any]]],
    capfd: pytest.CaptureFixture[str],
) -> None:
    org = stack.organization
    assert org is not None
    members = sorted(a for a in org.members.values() if a != org.account_without_role)[:2]
    regions = REGIONS[:2]
    responses: list[Any] = []

    def rollout(token: str) -> dict[str, Any]:
        body = {
            "upstreamRegistry": "docker-hub",
            "ecrRepositoryPrefix": "hygiene-org",
            "credentials": {"username": "hygiene-user", "accessToken": token},
            "regions": regions,
            "accounts": members,
        }
        status, started = api("POST", "/rules", body)
        assert status == 202, started
        responses.extend([started, wait_rollout(started["rolloutId"]), api("GET", f"/rollouts/{started['rolloutId']}")])
        return responses[-2]

    existing = execution_names(stack)
    # Given: a rule in two member accounts with one canary; when: a second canary goes to them and validation fails
    # in one region, so the rollout across accounts is rolled back
    assert rollout(ACROSS_KEPT)["status"] == "SUCCEEDED"
    step_faults.inject("ValidateRuleFunction", regions[-1], error_type="RuleValidationFailed", prefix="hygiene-org")
    assert rollout(ACROSS_UNDONE)["status"] == "ROLLED_BACK"
    emitted = app_events(2)
    responses.extend([api("GET", "/rules/hygiene-org"), api("GET", "/rules")])

    found = [
        capfd.readouterr(),
        "\n".join(captured_logs.lines),
        execution_records(stack, execution_names(stack) - existing),
        table_items(stack),
        emitted,
        responses,
    ]
    text = json.dumps(found, default=str)
    assert ACROSS_KEPT not in text and ACROSS_UNDONE not in text
    assert '"DEPLOYED#hygiene-org"' in json.dumps(table_items(stack)), "the per-account items were scanned"
    # Each member account holds the kept canary as its secret's current value everywhere; the undone one was
    # really stored (validation fails after StoreSecret) and rolled back: no longer current anywhere.
    undone_stored = []
    for account in members:
        for region in regions:
            versions = secret_versions(stack, region, "ecr-pullthroughcache/hygiene-org", account)
            values = [(stages, json.loads(value)) for stages, value in versions.values()]
            current = [t["accessToken"] for stages, t in values if "AWSCURRENT" in stages]
            assert current == [ACROSS_KEPT], (account, region)
            undone_stored += [(account, region) for _, t in values if t["accessToken"] == ACROSS_UNDONE]
    assert undone_stored, "the second canary never reached Secrets Manager: the test would prove nothing"
