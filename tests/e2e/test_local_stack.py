"""The embedded stack end to end: the template provisioned on moto, the rollout state machine executing the real
handlers in process, EventBridge reaching Lambda targets, and the local API's API Gateway emulation."""

from __future__ import annotations

import gc
import json
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local import events_bridge, lambda_runner
from local.api_server import ApiServer, Route
from local.emulator import ecr_extension
from local.emulator.server import LATENCY_ENV
from local.settings import API_PORT_ENV, AWS_PORT_ENV, REGISTRY_ENDPOINT_ENV, REGISTRY_PORT_ENV, StackError
from local.stack import EmbeddedStack
from local.template_reader import Resolver, TemplateError, load_template, substitute
from tests.e2e.conftest import (
    ApiCall,
    add_python_function,
    execution_history,
    get_rollout_item,
    rollout_input,
    run_rollout,
    source_secret,
    wait_until,
)
from tests.support import CANARY

pytestmark = pytest.mark.e2e

HOME = "us-east-1"
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1"]
LIFECYCLE = json.dumps(
    {
        "rules": [
            {
                "rulePriority": 1,
                "description": "expire untagged",
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": 14,
                },
                "action": {"type": "expire"},
            }
        ]
    }
)
CREATION_TEMPLATE = {"description": "e2e", "imageTagMutability": "MUTABLE", "lifecyclePolicy": LIFECYCLE}
BRIEF_FUNCTIONS = {
    "StoreSecretFunction": "store_secret",
    "CreateRuleFunction": "create_rule",
    "ValidateRuleFunction": "validate_rule",
    "ApplyTemplateFunction": "apply_template",
    "RollbackFunction": "rollback",
    "FinishRolloutFunction": "finish_rollout",
    "ApiFunction": "api",
    "RuleRequestedFunction": "on_rule_requested",
    "DriftSweepFunction": "drift_sweep",
}


def docker_hub_rule(prefix: str) -> dict[str, str]:
    return {
        "ecrRepositoryPrefix": prefix,
        "upstreamRegistry": "docker-hub",
        "upstreamRegistryUrl": "registry-1.docker.io",
        "upstreamRepositoryPrefix": "ROOT",
    }


def rule_in(stack: EmbeddedStack, region: str, prefix: str) -> dict[str, Any] | None:
    rules = stack.client("ecr", region).describe_pull_through_cache_rules()["pullThroughCacheRules"]
    return next((r for r in rules if r["ecrRepositoryPrefix"] == prefix), None)


def template_in(stack: EmbeddedStack, region: str, prefix: str) -> dict[str, Any] | None:
    found = stack.client("ecr", region).describe_repository_creation_templates()["repositoryCreationTemplates"]
    return next((t for t in found if t["prefix"] == prefix), None)


def secret_exists(stack: EmbeddedStack, region: str, name: str) -> bool:
    """The secret is there and not scheduled for deletion."""
    sm = stack.client("secretsmanager", region)
    try:
        described = sm.describe_secret(SecretId=name)
    except sm.exceptions.ResourceNotFoundException:
        return False
    return "DeletedDate" not in described


# -- the template, provisioned ------------------------------------------------------------------------------


def test_the_template_functions_exist_with_their_environment(stack: EmbeddedStack) -> None:
    template = load_template()
    assert set(BRIEF_FUNCTIONS) <= set(template.functions)
    lam = stack.client("lambda")
    for logical_id, fn in template.functions.items():
        assert (fn.code_dir / "app.py").is_file()
        config = lam.get_function_configuration(FunctionName=stack.function_names[logical_id])
        env = config.get("Environment", {}).get("Variables", {})
        # The template's variables, plus where the emulator serves ECR's registry endpoint (AWS: the one ECR names)
        assert sorted(set(env) - {REGISTRY_ENDPOINT_ENV}) == fn.env_names, logical_id
        assert stack.registries is not None and env[REGISTRY_ENDPOINT_ENV] == stack.registries.url, logical_id
        assert env == stack.function_environments[logical_id], logical_id
    assert stack.function_environments["ApiFunction"]["STATE_MACHINE_ARN"] == stack.state_machine_arn
    assert stack.function_environments["DriftSweepFunction"]["DRIFT_MODE"] == "report"
    for key in ("TABLE_NAME", "SOURCE_SECRET_PREFIX", "POWERTOOLS_SERVICE_NAME"):  # Globals: every function's
        assert stack.environment[key]
    assert "STATE_MACHINE_ARN" not in stack.environment


def test_each_function_sees_only_its_own_environment_even_concurrently(stack: EmbeddedStack) -> None:
    # Outside any function: none of the functions' variables leak into the process environment
    assert "TABLE_NAME" not in os.environ and os.environ.get("STATE_MACHINE_ARN") is None
    seen: dict[str, dict[str, str | None]] = {}
    both_inside = threading.Barrier(2, timeout=10)

    def read_as(logical_id: str) -> None:
        with stack.running_as(logical_id):
            both_inside.wait()  # both threads are inside their own function at once
            seen[logical_id] = {key: os.getenv(key) for key in ("TABLE_NAME", "STATE_MACHINE_ARN", "DRIFT_MODE")}

    readers = [threading.Thread(target=read_as, args=(lid,)) for lid in ("FinishRolloutFunction", "DriftSweepFunction")]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()

    table = stack.environment["TABLE_NAME"]
    assert seen["FinishRolloutFunction"] == {"TABLE_NAME": table, "STATE_MACHINE_ARN": None, "DRIFT_MODE": None}
    assert seen["DriftSweepFunction"] == {
        "TABLE_NAME": table,
        "STATE_MACHINE_ARN": stack.state_machine_arn,
        "DRIFT_MODE": "report",
    }


def test_the_state_machine_has_every_substitution_resolved(stack: EmbeddedStack) -> None:
    definition = stack.client("stepfunctions").describe_state_machine(stateMachineArn=stack.state_machine_arn)[
        "definition"
    ]
    assert "${" not in definition
    assert stack.environment["TABLE_NAME"] in definition


def test_every_step_invokes_its_functions_published_alias_not_latest(stack: EmbeddedStack) -> None:
    """As SAM deploys AutoPublishAlias (what SnapStart needs): each Task's resource is the alias `live`, which
    points at a published version of the configured function."""
    definition = json.loads(
        stack.client("stepfunctions").describe_state_machine(stateMachineArn=stack.state_machine_arn)["definition"]
    )
    invoked = {state["Resource"] for state in task_states(definition) if ":lambda:" in state["Resource"]}
    unqualified = {name.rsplit(":", 1)[0] for name in invoked}
    steps = {lid for lid, arn in stack.function_arns.items() if arn in unqualified}
    assert {"SnapshotRegionFunction", "StoreSecretFunction", "FinishRolloutFunction", "RollbackFunction"} <= steps
    assert invoked == {f"{stack.function_arns[lid]}:live" for lid in steps}
    lam = stack.client("lambda")
    for lid in steps:
        alias = lam.get_alias(FunctionName=stack.function_names[lid], Name="live")
        assert alias["FunctionVersion"] not in ("$LATEST", ""), lid
        published = lam.get_function_configuration(FunctionName=stack.function_names[lid], Qualifier="live")
        assert published["Environment"]["Variables"] == stack.function_environments[lid], lid


def task_states(machine: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every Task state at any depth (Map iterations, Parallel branches)."""
    for state in machine.get("States", {}).values():
        if state["Type"] == "Task":
            yield state
        for nested in [state.get("ItemProcessor"), state.get("Iterator"), *state.get("Branches", [])]:
            if nested:
                yield from task_states(nested)


def test_the_rule_requested_rule_targets_its_function(stack: EmbeddedStack) -> None:
    events = stack.client("events")
    (name,) = [n for n in stack.rule_names if n == "rule-requested"]
    rule = events.describe_rule(Name=name, EventBusName=stack.event_bus_name)  # the app's own bus
    assert json.loads(rule["EventPattern"]) == {
        "source": ["pullthrough"],
        "detail-type": ["Pull Through Cache Rule Requested"],
    }
    targets = events.list_targets_by_rule(Rule=name, EventBusName=stack.event_bus_name)["Targets"]
    assert [t["Arn"] for t in targets] == [stack.function_arns["RuleRequestedFunction"]]


def test_the_execution_ended_rule_targets_the_recovery_function(stack: EmbeddedStack) -> None:
    events = stack.client("events")
    (name,) = [n for n in stack.rule_names if n.endswith("-ExecutionEnded")]
    pattern = json.loads(events.describe_rule(Name=name)["EventPattern"])
    assert pattern["source"] == ["aws.states"]
    assert pattern["detail"]["status"] == ["FAILED", "TIMED_OUT", "ABORTED"]
    assert pattern["detail"]["stateMachineArn"] == [stack.state_machine_arn]
    targets = events.list_targets_by_rule(Rule=name)["Targets"]
    assert [t["Arn"] for t in targets] == [stack.function_arns["RecoverRolloutFunction"]]


# -- the rollout state machine with the real handlers -----------------------------------------------------------


def test_a_rollout_puts_secret_rule_and_template_in_every_region(stack: EmbeddedStack) -> None:
    prefix = "e2e-hub"
    credentials = {"username": "octocat", "accessToken": CANARY}
    source_arn = source_secret(stack, "e2e-hub", credentials)
    execution_input = rollout_input(
        "r-e2e-apply",
        docker_hub_rule(prefix),
        REGIONS,
        source_secret_arn=source_arn,
        creation_template=CREATION_TEMPLATE,
    )

    described = run_rollout(stack, execution_input)

    assert described["status"] == "SUCCEEDED", described.get("cause")
    for region in REGIONS:
        rule = rule_in(stack, region, prefix)
        assert rule is not None, region
        assert rule["upstreamRegistryUrl"] == "registry-1.docker.io"
        secret_arn = rule["credentialArn"]
        assert f":secretsmanager:{region}:" in secret_arn
        assert ":secret:ecr-pullthroughcache/e2e-hub-" in secret_arn
        stored = stack.client("secretsmanager", region).get_secret_value(SecretId=secret_arn)["SecretString"]
        assert json.loads(stored) == credentials  # the value really travelled...
        template = template_in(stack, region, prefix)
        assert template is not None, region
        assert template["appliedFor"] == ["PULL_THROUGH_CACHE"]
        assert json.loads(template["lifecyclePolicy"]) == json.loads(LIFECYCLE)
    item = get_rollout_item(stack, "r-e2e-apply")
    assert {r: e["M"]["status"]["S"] for r, e in item["regions"]["M"].items()} == dict.fromkeys(REGIONS, "SUCCEEDED")
    # ...and is nowhere else: not in the execution's input, output or history, nor in the table.
    history = execution_history(stack, described["executionArn"])
    assert CANARY not in json.dumps(history, default=str)
    assert CANARY not in json.dumps(described, default=str)
    table = stack.client("dynamodb").scan(TableName=stack.environment["TABLE_NAME"])["Items"]
    assert CANARY not in json.dumps(table)


def test_a_region_that_fails_validation_rolls_every_region_back(stack: EmbeddedStack) -> None:
    prefix = "e2e-rollback"
    regions = ["us-east-1", "eu-west-1", "ap-southeast-2"]
    source_arn = source_secret(stack, prefix, {"username": "octocat", "accessToken": "not-a-canary"})
    ecr_extension.fail_validation(prefix, "Authentication failed: bad upstream credentials", region="eu-west-1")
    execution_input = rollout_input(
        "r-e2e-rollback",
        docker_hub_rule(prefix),
        regions,
        source_secret_arn=source_arn,
        creation_template=CREATION_TEMPLATE,
    )

    described = run_rollout(stack, execution_input)

    item = get_rollout_item(stack, "r-e2e-rollback")
    assert item["status"]["S"] != "SUCCEEDED", described
    entry = item["regions"]["M"]["eu-west-1"]["M"]
    assert entry["status"]["S"] != "SUCCEEDED"
    for region in regions:
        assert rule_in(stack, region, prefix) is None, region
        assert template_in(stack, region, prefix) is None, region
        assert not secret_exists(stack, region, f"ecr-pullthroughcache/{prefix}"), region


# -- the Lambda runner ---------------------------------------------------------------------------------------

SLEEPER = """
import time

def handler(event, context):
    started = time.time()
    time.sleep(event["seconds"])
    return {"item": event["item"], "started": started, "ended": time.time()}
"""


def test_map_iterations_run_concurrently(stack: EmbeddedStack, tmp_path: Path) -> None:
    arn = add_python_function(stack, tmp_path, "e2e-sleeper", SLEEPER)
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": 0,
                "ItemSelector": {"item.$": "$$.Map.Item.Value", "seconds.$": "$.seconds"},
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Sleep",
                    "States": {"Sleep": {"Type": "Task", "Resource": arn, "End": True}},
                },
                "End": True,
            }
        },
    }
    sfn = stack.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="e2e-concurrency", definition=json.dumps(definition), roleArn=stack.role_arn
    )
    started = sfn.start_execution(
        stateMachineArn=machine["stateMachineArn"],
        name="concurrency",
        input=json.dumps({"items": [1, 2], "seconds": 1.5}),
    )
    described = stack.wait_for_execution(started["executionArn"], timeout=60)

    assert described["status"] == "SUCCEEDED", described.get("cause")
    first, second = json.loads(described["output"])
    assert max(first["started"], second["started"]) < min(first["ended"], second["ended"]), "iterations did not overlap"


FLAKY = """
import threading

class FlakyError(Exception):
    pass

class BoomError(Exception):
    pass

_calls = {}
_lock = threading.Lock()

def handler(event, context):
    with _lock:
        _calls[event["key"]] = _calls.get(event["key"], 0) + 1
        calls = _calls[event["key"]]
    if event["mode"] == "boom":
        raise BoomError("it went boom")
    if calls == 1:
        raise FlakyError("first call fails")
    return {"calls": calls}
"""


def test_exception_class_names_drive_retry_and_catch(stack: EmbeddedStack, tmp_path: Path) -> None:
    arn = add_python_function(stack, tmp_path, "e2e-flaky", FLAKY)
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": arn,
                "Retry": [{"ErrorEquals": ["FlakyError"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 1.0}],
                "Catch": [{"ErrorEquals": ["BoomError"], "ResultPath": "$.error", "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    sfn = stack.client("stepfunctions")
    machine = sfn.create_state_machine(name="e2e-errors", definition=json.dumps(definition), roleArn=stack.role_arn)

    def execute(name: str, payload: dict[str, str]) -> dict[str, Any]:
        started = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name=name, input=json.dumps(payload))
        return stack.wait_for_execution(started["executionArn"], timeout=60)

    retried = execute("flaky", {"key": "flaky", "mode": "flaky"})
    assert retried["status"] == "SUCCEEDED", retried.get("cause")
    assert json.loads(retried["output"]) == {"calls": 2}

    caught = execute("boom", {"key": "boom", "mode": "boom"})
    assert caught["status"] == "SUCCEEDED", caught.get("cause")
    error = json.loads(caught["output"])["error"]
    assert error["Error"] == "BoomError"
    cause = json.loads(error["Cause"])
    assert (cause["errorType"], cause["errorMessage"]) == ("BoomError", "it went boom")
    assert isinstance(cause["stackTrace"], list) and cause["stackTrace"], "Lambda's runtime sends the stack trace"

    # A direct Invoke reports the same payload with the function-error flag.
    answer = stack.client("lambda").invoke(FunctionName=arn, Payload=json.dumps({"key": "direct", "mode": "boom"}))
    assert "FunctionError" in answer
    assert json.loads(answer["Payload"].read())["errorType"] == "BoomError"


def test_the_runner_reports_invocations_to_hooks(stack: EmbeddedStack, tmp_path: Path) -> None:
    arn = add_python_function(stack, tmp_path, "e2e-hooked", "def handler(event, context):\n    return event\n")
    seen: list[lambda_runner.Invocation] = []
    called: list[str] = []

    def before(name: str, event: Any) -> None:
        called.append(name)

    lambda_runner.before_call.append(before)
    lambda_runner.after_call.append(seen.append)
    try:
        answer = stack.client("lambda").invoke(FunctionName=arn, Payload=b'{"a": 1}')
    finally:
        lambda_runner.before_call.remove(before)
        lambda_runner.after_call.remove(seen.append)
    assert json.loads(answer["Payload"].read()) == {"a": 1}
    assert called == ["e2e-hooked"]
    assert [(s.function_name, s.errored) for s in seen] == [("e2e-hooked", False)]
    assert seen[0].ended >= seen[0].started


# -- EventBridge -> Lambda -------------------------------------------------------------------------------------


def test_eventbridge_hands_lambda_targets_the_event_envelope(stack: EmbeddedStack, tmp_path: Path) -> None:
    record = tmp_path / "event.json"
    source = (
        "import json, os\n\n"
        "def handler(event, context):\n"
        f"    with open({str(record)!r} + '.tmp', 'w') as out:\n"
        "        out.write(json.dumps(event))\n"
        f"    os.replace({str(record)!r} + '.tmp', {str(record)!r})\n"
    )
    arn = add_python_function(stack, tmp_path, "e2e-recorder", source)
    events = stack.client("events")
    events.put_rule(Name="e2e-recorder", EventPattern=json.dumps({"source": ["e2e.test"]}))
    events.put_targets(Rule="e2e-recorder", Targets=[{"Id": "recorder", "Arn": arn}])

    sent = events.put_events(
        Entries=[{"Source": "e2e.test", "DetailType": "Something Happened", "Detail": json.dumps({"n": 1})}]
    )

    assert sent["FailedEntryCount"] == 0
    delivered = wait_until(lambda: record.read_text() if record.is_file() else None, 30, "the EventBridge delivery")
    event = json.loads(delivered)
    assert sorted(event) == sorted(events_bridge.ENVELOPE_KEYS)
    assert event["id"] == sent["Entries"][0]["EventId"]
    assert event["detail"] == {"n": 1}
    assert event["detail-type"] == "Something Happened"
    assert (event["source"], event["account"], event["region"]) == ("e2e.test", stack.account_id, HOME)
    assert time.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ")


def test_a_rule_requested_event_starts_a_rollout(stack: EmbeddedStack, api: ApiCall, wait_rollout: Any) -> None:
    regions = ["us-east-1", "eu-west-1"]
    arn = source_secret(stack, "e2e-github", {"username": "octocat", "accessToken": "ghp-not-a-canary"})
    stack.client("events").put_events(
        Entries=[
            {
                "EventBusName": stack.event_bus_name,
                "Source": "pullthrough",
                "DetailType": "Pull Through Cache Rule Requested",
                "Detail": json.dumps(
                    {"upstreamRegistry": "github-container-registry", "credentialSecretArn": arn, "regions": regions}
                ),
            }
        ]
    )

    def last_rollout() -> str | None:
        status, rule = api("GET", "/rules/github")
        return rule.get("lastRolloutId") if status == 200 else None

    rollout_id = wait_until(last_rollout, 60, "the rule requested by the event")
    finished = wait_rollout(rollout_id)
    assert finished["status"] == "SUCCEEDED", finished
    for region in regions:
        rule = rule_in(stack, region, "github")
        assert rule is not None and rule["upstreamRegistryUrl"] == "ghcr.io", region


# -- the local API ----------------------------------------------------------------------------------------------

ECHO = """
import json

def handler(event, context):
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json", "X-Function": context.function_name},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": json.dumps(event),
    }
"""
BOOM = """
def handler(event, context):
    raise RuntimeError("details a caller must not see")
"""


@pytest.fixture(scope="module")
def echo_api(tmp_path_factory: pytest.TempPathFactory) -> Any:
    base = tmp_path_factory.mktemp("api")
    for name, source in (("echo", ECHO), ("boom", BOOM)):
        (base / name).mkdir()
        (base / name / "app.py").write_text(source)

    def route(method: str, path: str, name: str) -> Route:
        return Route(
            method,
            path,
            f"fn-{name}",
            f"arn:aws:lambda:{HOME}:123456789012:function:fn-{name}",
            lambda_runner.FunctionCode(base / name),
        )

    server = ApiServer(
        [
            route("GET", "/rules/{prefix}", "echo"),
            route("POST", "/rules", "echo"),
            route("GET", "/files/{path+}", "echo"),
            route("GET", "/boom", "boom"),
        ],
        port=0,
        account_id="123456789012",
    )
    server.start()
    yield server
    server.stop()


def raw_call(url: str, method: str = "GET", body: bytes | None = None) -> tuple[int, Any, Any]:
    request = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read())


def test_the_api_builds_rest_proxy_events(echo_api: ApiServer) -> None:
    status, headers, event = raw_call(f"{echo_api.url}/rules/team%2Fapp?a=1&a=2&b=x")

    assert status == 200
    assert headers["X-Function"] == "fn-echo"
    assert headers.get_all("Set-Cookie") == ["a=1", "b=2"]
    assert event["resource"] == "/rules/{prefix}"
    assert event["path"] == "/rules/team%2Fapp"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"prefix": "team/app"}
    assert event["queryStringParameters"] == {"a": "2", "b": "x"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": ["x"]}
    assert event["body"] is None and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert (context["stage"], context["resourcePath"], context["httpMethod"]) == ("v1", "/rules/{prefix}", "GET")
    assert context["path"] == "/v1/rules/team%2Fapp"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["accountId"] == "123456789012" and context["requestId"]


def test_the_api_passes_bodies_greedy_paths_and_the_stage_prefix(echo_api: ApiServer) -> None:
    status, _, event = raw_call(f"{echo_api.url}/v1/rules", "POST", b'{"upstreamRegistry": "quay"}')
    assert status == 200
    assert json.loads(event["body"]) == {"upstreamRegistry": "quay"}
    assert event["headers"]["Content-Type"] == "application/json"
    assert event["multiValueHeaders"]["Content-Type"] == ["application/json"]

    status, _, event = raw_call(f"{echo_api.url}/files/a/b/c.txt")
    assert status == 200
    assert event["pathParameters"] == {"path": "a/b/c.txt"}


def test_the_api_answers_unknown_paths_and_methods_with_json(echo_api: ApiServer, api: ApiCall) -> None:
    assert raw_call(f"{echo_api.url}/nothing/here")[::2] == (404, {"message": "no route for GET /nothing/here"})
    status, headers, body = raw_call(f"{echo_api.url}/boom", "DELETE")
    assert (status, headers["Allow"]) == (405, "GET")
    status, body = api("GET", "/no/such/path")  # the stack's own API, too
    assert status == 404 and "message" in body


def test_a_failing_handler_is_a_500_without_its_details(
    echo_api: ApiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, body = raw_call(f"{echo_api.url}/boom")

    assert (status, body) == (500, {"message": "internal error"})
    logged = capsys.readouterr().err
    assert "Traceback" in logged and "details a caller must not see" in logged


# -- start-up checks and knobs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("which", "env_name"),
    [("aws_port", AWS_PORT_ENV), ("api_port", API_PORT_ENV), ("registry_port", REGISTRY_PORT_ENV)],
)
def test_a_port_in_use_names_the_variable_to_change(stack: EmbeddedStack, which: str, env_name: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ports = {"aws_port": 0, "api_port": 0, which: port}
        with pytest.raises(StackError, match=env_name):
            EmbeddedStack(**ports).start()
    assert stack.client("dynamodb").list_tables()["TableNames"]  # the running stack is untouched


def test_a_second_stack_in_the_same_process_is_refused(stack: EmbeddedStack) -> None:
    with pytest.raises(StackError, match="already running"):
        EmbeddedStack(aws_port=0, api_port=0).start()
    assert stack.client("dynamodb").list_tables()["TableNames"]


def test_the_emulator_latency_knob_delays_aws_calls(stack: EmbeddedStack, monkeypatch: pytest.MonkeyPatch) -> None:
    ddb = stack.client("dynamodb")
    ddb.list_tables()
    monkeypatch.setenv(LATENCY_ENV, "300")
    started = time.monotonic()
    ddb.list_tables()
    assert time.monotonic() - started >= 0.3


def test_the_running_stack_keeps_its_provisioned_heap_out_of_the_garbage_collectors_walks(stack: EmbeddedStack) -> None:
    # moto's backends and botocore's models are millions of objects that live as long as the stack: a full
    # collection walking them stalls every Map iteration (local/emulator/engine_tuning.py).
    assert gc.get_freeze_count() > 100_000


def test_a_latency_model_prices_each_request_by_its_region_and_service(stack: EmbeddedStack) -> None:
    seen: list[tuple[str, str]] = []

    def model(region: str, service: str) -> float:
        seen.append((region, service))
        return 300.0 if region == "ap-southeast-2" else 0.0

    stack.set_latency_model(model)
    try:
        started = time.monotonic()
        stack.client("ecr", "eu-west-1").describe_pull_through_cache_rules()
        near = time.monotonic() - started
        started = time.monotonic()
        stack.client("ecr", "ap-southeast-2").describe_pull_through_cache_rules()
        far = time.monotonic() - started
    finally:
        stack.set_latency_model(None)
    # (the stack's own execution-status poller calls Step Functions meanwhile)
    assert [asked for asked in seen if asked[1] == "ecr"] == [("eu-west-1", "ecr"), ("ap-southeast-2", "ecr")]
    assert far >= 0.3 > near


def test_what_cannot_be_resolved_is_an_error() -> None:
    resolver = Resolver(refs={"RulesTable": "t"}, attrs={"Fn.Arn": "arn"})
    assert resolver.resolve({"Fn::Sub": "${RulesTable}/${Fn.Arn}"}) == "t/arn"
    for value in ({"Fn::GetAtt": ["Missing", "Arn"]}, {"Ref": "Missing"}, {"Fn::If": ["c", "a", "b"]}):
        with pytest.raises(TemplateError):
            resolver.resolve(value, where="test")
    assert substitute('{"a": "${A}"}', {"A": "x"}) == '{"a": "x"}'
    with pytest.raises(TemplateError, match=r"\$\{B\}"):
        substitute("${A} ${B}", {"A": "x"})


def test_concurrent_api_requests_are_all_answered(echo_api: ApiServer) -> None:
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(raw_call(f"{echo_api.url}/rules/x")[0])) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == [200] * 8
