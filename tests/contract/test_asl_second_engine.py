"""The rollout state machine on a second, independent engine (npm aws-local-stepfunctions), not only moto's.

moto's Step Functions engine is a copy of LocalStack's, and it retries and catches what real Step Functions does not
(States.Runtime). Here the same ASL runs on an engine that shares no code with it, with every Task mocked by its
resource (tests/asl_engine/run.mjs), on the execution input and rollout record the app itself writes (the API
handler on moto). The contract, whatever the state names: the execution ends SUCCEEDED, no state inside the region
Map fails that Map, States.Runtime never escapes, and FinishRollout is invoked exactly once.

Each of these failed on the ASL before issue 9's rewrite (they were strict xfails until it landed).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer
from moto import mock_aws

from local.template_reader import substitute
from pullthrough import aws
from pullthrough import exceptions as ex
from tests.asl_engine.engine import APPLY, ROOT, STEP_OUTPUTS, Execution, definition_substitutions, run, throws
from tests.integration.app_support import api, organization_members, provision
from tests.support import HOME

ASL = ROOT / "statemachine" / "rollout.asl.json"
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]
FAILING = "eu-west-1"  # the region a scenario makes fail
ACCOUNTS = ["111111111111", "222222222222"]  # a rollout across accounts (scale ACCOUNTS: the Distributed Map)
LAMBDA_TIMEOUT = "Lambda.ClientExecutionTimeoutException"
READ = TypeDeserializer()


@dataclass(frozen=True)
class Started:
    """A rollout as the API starts it: the execution input and the app's table (DynamoDB JSON)."""

    input: dict[str, Any]
    items: list[dict[str, Any]]


@pytest.fixture(scope="module")
def started() -> Iterator[dict[str, Started]]:
    """POST /rules through the API handler on moto, once per rollout option set used below."""
    bodies: dict[str, dict[str, Any]] = {
        "default": {},
        "tolerant": {"rollout": {"failureTolerance": 1}},
        "sequential": {"rollout": {"maxConcurrency": 1, "failureTolerance": 0}},
        "accounts": {"accounts": ACCOUNTS},
    }
    found: dict[str, Started] = {}
    with pytest.MonkeyPatch.context() as mp:
        for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
            mp.delenv(key, raising=False)
        for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
            mp.setenv(key, value)
        mp.setenv("AWS_DEFAULT_REGION", HOME)
        mp.setenv("AWS_REGION", HOME)
        aws.reset()
        with mock_aws():
            app = provision(mp)
            organization_members(*ACCOUNTS)  # pullthrough targets only accounts of its Organization
            for name, options in bodies.items():
                body = {"upstreamRegistry": "quay", "ecrRepositoryPrefix": f"quay-{name}", "regions": REGIONS}
                status, answer = api("POST", "/rules", body | options)
                assert status == 202, answer
                scan = boto3.client("dynamodb", region_name=HOME).scan(TableName=app.table, ConsistentRead=True)
                found[name] = Started(app.execution_input(answer["rolloutId"]), scan["Items"])
        aws.reset()
    yield found


@pytest.fixture(scope="module")
def subs() -> dict[str, str]:
    """template.yaml's DefinitionSubstitutions (the table: the one the API wrote to, see provision)."""
    return definition_substitutions(table_name="pullthrough-test")


def resource(subs: dict[str, str], name: str) -> str:
    assert name in subs, f"template.yaml's DefinitionSubstitutions has no {name}: these tests mock the ASL by it"
    return subs[name]


@pytest.fixture(scope="module")
def definition(subs: dict[str, str]) -> dict[str, Any]:
    return json.loads(substitute(ASL.read_text(encoding="utf-8"), subs, where=str(ASL)))


def states_of(machine: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every state at any depth (Map iterations, Parallel branches)."""
    for name, state in machine.get("States", {}).items():
        yield name, state
        for nested in [state.get("ItemProcessor"), state.get("Iterator"), *state.get("Branches", [])]:
            if nested:
                yield from states_of(nested)


def region_map(definition: dict[str, Any], subs: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """The top-level Map whose own iterations create the rule: a one-account rollout's per-region work (a rollout
    across accounts runs the same states in each account's child execution)."""
    create_rule = resource(subs, "CreateRuleFunctionArn")
    maps = [
        (name, state)
        for name, state in definition["States"].items()
        if state["Type"] == "Map"
        and any(
            s.get("Resource") == create_rule
            for s in (state.get("ItemProcessor") or state["Iterator"])["States"].values()
        )
    ]
    assert len(maps) == 1, f"expected one Map that runs CreateRule, found {[n for n, _ in maps]}"
    return maps[0]


def rollout(
    started: Started,
    subs: dict[str, str],
    *,
    mocks: dict[str, dict[str, Any]] | None = None,
    items: list[dict[str, Any]] | None = None,
) -> Execution:
    table = resource(subs, "TableName")
    return run(ASL, subs, started.input, tables={table: started.items if items is None else items}, mocks=mocks or {})


def integration(definition: dict[str, Any], action: str) -> str:
    """The Resource of the ASL's ``arn:<partition>:states:::<action>`` tasks (e.g. dynamodb:updateItem)."""
    found = {
        s["Resource"] for _, s in states_of(definition) if str(s.get("Resource", "")).endswith(f":states:::{action}")
    }
    assert len(found) == 1, f"expected one resource for {action}, found {sorted(found)}"
    return found.pop()


def in_region(region: str, *outcomes: dict[str, Any]) -> dict[str, Any]:
    """A mock whose calls for ``region`` take ``outcomes`` in turn (the last repeats); other calls get the default."""
    return {"cases": [{"match": region, "outcomes": list(outcomes)}]}


def rollout_record(execution: Execution, started: Started, subs: dict[str, str]) -> dict[str, Any]:
    """The rollout's record in the mocked table at the end of the execution."""
    items = [
        {k: READ.deserialize(v) for k, v in item.items()} for item in execution.tables[resource(subs, "TableName")]
    ]
    (record,) = [item for item in items if item.get("rolloutId") == started.input["rolloutId"] and "status" in item]
    return record


def regions_called(execution: Execution, arn: str) -> list[str]:
    return [call["input"]["region"] for call in execution.calls_to(arn)]


def by_region(results: list[dict[str, Any]]) -> dict[str, str]:
    return {entry["region"]: entry["status"] for entry in results}


def assert_finished(execution: Execution, definition: dict[str, Any], subs: dict[str, str]) -> dict[str, Any]:
    """The contract every scenario keeps; returns FinishRollout's input."""
    assert execution.error != "States.Runtime", execution.describe()
    assert execution.status == "SUCCEEDED", execution.describe()
    name, _ = region_map(definition, subs)
    assert not execution.failures_of(name), f"the region Map failed: {execution.describe()}"
    finish = execution.inputs_to(resource(subs, "FinishRolloutFunctionArn"))
    # Once to decide (and close, when no rollback is needed); once more after a rollback, to close.
    assert 1 <= len(finish) <= 2, f"FinishRollout invoked {len(finish)} times: {execution.describe()}"
    assert [bool(f.get("afterRollback")) for f in finish] in ([False], [True], [False, True]), execution.describe()
    return dict(finish[-1])


# ---------------------------------------------------------------------------------------------------------------
# Scenarios


def test_a_rollout_to_three_regions_succeeds_everywhere_without_rollback(
    started: dict[str, Started], subs: dict[str, str], definition: dict[str, Any]
) -> None:
    execution = rollout(started["default"], subs)

    finish = assert_finished(execution, definition, subs)
    assert sorted(regions_called(execution, resource(subs, "CreateRuleFunctionArn"))) == sorted(REGIONS)
    assert by_region(finish["regionResults"]) == dict.fromkeys(REGIONS, "SUCCEEDED")
    assert not execution.calls_to(resource(subs, "RollbackFunctionArn"))
    assert not finish.get("rollbackResults")


def test_a_region_failing_at_create_rule_rolls_every_region_back_and_finish_gets_the_rollback_results(
    started: dict[str, Started], subs: dict[str, str], definition: dict[str, Any]
) -> None:
    create_rule = resource(subs, "CreateRuleFunctionArn")
    execution = rollout(
        started["default"], subs, mocks={create_rule: in_region(FAILING, throws(ex.RuleLimitExceeded.__name__))}
    )

    finish = assert_finished(execution, definition, subs)
    assert regions_called(execution, create_rule).count(FAILING) == 1, "a permanent error is not retried"
    assert set(regions_called(execution, resource(subs, "RollbackFunctionArn"))) == set(REGIONS)
    assert by_region(finish["rollbackResults"]) == dict.fromkeys(REGIONS, "ROLLED_BACK")
    assert by_region(finish["regionResults"])[FAILING] == "FAILED"


@pytest.mark.parametrize(
    ("function", "error"),
    [
        ("SnapshotRegionFunctionArn", ex.AwsTransientError.__name__),
        ("StoreSecretFunctionArn", "Lambda.TooManyRequestsException"),
        ("CreateRuleFunctionArn", ex.ConcurrentModification.__name__),
        ("ValidateRuleFunctionArn", "Lambda.ServiceException"),
        ("ApplyTemplateFunctionArn", ex.AwsTransientError.__name__),
    ],
)
def test_a_transient_error_is_retried_and_the_region_succeeds(
    function: str, error: str, started: dict[str, Started], subs: dict[str, str], definition: dict[str, Any]
) -> None:
    arn = resource(subs, function)
    execution = rollout(
        started["default"], subs, mocks={arn: in_region(FAILING, throws(error), throws(error), STEP_OUTPUTS[function])}
    )

    finish = assert_finished(execution, definition, subs)
    assert regions_called(execution, arn).count(FAILING) == 3
    assert by_region(finish["regionResults"]) == dict.fromkeys(REGIONS, "SUCCEEDED")
    assert not execution.calls_to(resource(subs, "RollbackFunctionArn"))


def test_a_record_write_failing_three_times_is_retried_and_the_region_recorded(
    started: dict[str, Started], subs: dict[str, str], definition: dict[str, Any]
) -> None:
    throttled = throws("DynamoDB.ProvisionedThroughputExceededException")
    mocks = {integration(definition, "dynamodb:updateItem"): in_region(FAILING, throttled, throttled, throttled, APPLY)}
    execution = rollout(started["default"], subs, mocks=mocks)

    finish = assert_finished(execution, definition, subs)
    assert by_region(finish["regionResults"]) == dict.fromkeys(REGIONS, "SUCCEEDED")
    assert rollout_record(execution, started["default"], subs)["regions"][FAILING]["status"] == "SUCCEEDED"


def test_a_record_write_that_keeps_failing_does_not_fail_the_region_map(
    started: dict[str, Started], subs: dict[str, str], definition: dict[str, Any]
) -> None:
    failing = throws("DynamoDB.AmazonDynamoDBException")
    mocks = {integration(definition, "dynamodb:updateItem"): in_region(FAILING, failing)}
    execution = rollout(started["default"], subs, mocks=mocks)

    finish = assert_finished(execution, definition, subs)
    assert set(by_region(finish["regionResults"])) == set(REGIONS), "every region's outcome reaches FinishRollout"


def test_a_missing_rollout_record_neither_fails_the_execution_nor_raises_states_runtime(
    started: dict[str, Started], subs: dict[str, str], definition: dict[str, Any]
) -> None:
    execution = rollout(started["default"], subs, items=[])

    assert_finished(execution, definition, subs)


def test_a_failure_within_the_tolerance_keeps_the_other_regions(
    started: dict[str, Started], subs: dict[str, str], definition: dict[str, Any]
) -> None:
    create_rule = resource(subs, "CreateRuleFunctionArn")
    execution = rollout(
        started["tolerant"], subs, mocks={create_rule: in_region(FAILING, throws(ex.RuleLimitExceeded.__name__))}
    )

    finish = assert_finished(execution, definition, subs)
    assert by_region(finish["regionResults"]) == {
        "us-east-1": "SUCCEEDED",
        FAILING: "FAILED",
        "ap-southeast-2": "SUCCEEDED",
    }
    assert set(regions_called(execution, resource(subs, "RollbackFunctionArn"))) <= {FAILING}, "only the failed one"
    assert not finish.get("rollbackResults")


def test_past_the_tolerance_no_new_region_starts_and_the_touched_ones_roll_back(
    started: dict[str, Started], subs: dict[str, str], definition: dict[str, Any]
) -> None:
    """One region at a time, tolerance 0: the region after the failed one never starts (the failure count the
    region Map writes to the rollout record is what stops it)."""
    create_rule = resource(subs, "CreateRuleFunctionArn")
    execution = rollout(
        started["sequential"], subs, mocks={create_rule: in_region(FAILING, throws(ex.RuleLimitExceeded.__name__))}
    )

    finish = assert_finished(execution, definition, subs)
    assert regions_called(execution, create_rule) == REGIONS[:2]
    # The gate (in SnapshotRegion) refuses it before any read or write: no step runs there.
    assert "ap-southeast-2" not in regions_called(execution, resource(subs, "StoreSecretFunctionArn"))
    assert by_region(finish["regionResults"])["ap-southeast-2"] == "SKIPPED"
    assert by_region(finish["rollbackResults"]) == dict.fromkeys(REGIONS, "ROLLED_BACK")


# ---------------------------------------------------------------------------------------------------------------
# Across accounts (scale ACCOUNTS): RolloutAccounts, a Distributed Map. This engine ignores ProcessorConfig and runs
# it as an inline Map (no child executions, no ToleratedFailure*), so these pin the states' logic and data flow: each
# account's targets read from its item, results recorded there, FinishRollout deciding from the items.


def account_items(execution: Execution, started: Started, subs: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The rollout's account items at the end of the execution, by account."""
    prefix = f"ROLLOUT#{started.input['rolloutId']}"
    items = [
        {k: READ.deserialize(v) for k, v in item.items()} for item in execution.tables[resource(subs, "TableName")]
    ]
    return {
        str(i["sk"]).removeprefix("ACCOUNT#"): i
        for i in items
        if i["pk"] == prefix and str(i["sk"]).startswith("ACCOUNT#")
    }


def targets_called(execution: Execution, arn: str) -> list[tuple[str, str]]:
    return sorted((call["input"]["account"], call["input"]["region"]) for call in execution.calls_to(arn))


def recorded(items: dict[str, dict[str, Any]], part: str = "regions") -> dict[tuple[str, str], str]:
    return {(a, r): e["status"] for a, item in items.items() for r, e in item.get(part, {}).items()}


def in_account(account: str, *outcomes: dict[str, Any]) -> dict[str, Any]:
    """A mock whose calls for ``account`` (a property value of the task input) take ``outcomes`` in turn."""
    return {"cases": [{"match": account, "outcomes": list(outcomes)}]}


def test_a_rollout_across_two_accounts_runs_each_accounts_targets_and_succeeds(
    started: dict[str, Started], subs: dict[str, str], definition: dict[str, Any]
) -> None:
    begun = started["accounts"]
    assert begun.input["scale"] == "ACCOUNTS" and begun.input["accounts"] == ACCOUNTS
    execution = rollout(begun, subs)

    assert execution.status == "SUCCEEDED", execution.describe()
    assert {"RolloutAccounts", "AccountTargets"} <= {s["name"] for s in execution.states}
    assert not execution.failures_of("RolloutAccounts"), execution.describe()
    every = sorted((a, r) for a in ACCOUNTS for r in REGIONS)
    assert targets_called(execution, resource(subs, "CreateRuleFunctionArn")) == every
    [finish] = execution.inputs_to(resource(subs, "FinishRolloutFunctionArn"))
    assert finish["regionResults"] == [{"account": a} for a in ACCOUNTS], "one tiny output per account"
    assert recorded(account_items(execution, begun, subs)) == dict.fromkeys(every, "SUCCEEDED")
    assert not execution.calls_to(resource(subs, "RollbackFunctionArn"))


def test_a_target_failing_in_one_account_rolls_back_every_account(
    started: dict[str, Started], subs: dict[str, str], definition: dict[str, Any]
) -> None:
    begun, failing = started["accounts"], ACCOUNTS[1]
    create_rule = resource(subs, "CreateRuleFunctionArn")
    limit = throws(ex.RuleLimitExceeded.__name__)
    execution = rollout(
        begun, subs, mocks={create_rule: in_account(failing, limit, STEP_OUTPUTS["CreateRuleFunctionArn"])}
    )

    assert execution.status == "SUCCEEDED", execution.describe()
    assert "RollbackAccounts" in {s["name"] for s in execution.states}
    finish = resource(subs, "FinishRolloutFunctionArn")
    assert [bool(f.get("afterRollback")) for f in execution.inputs_to(finish)] == [False, True]
    items = account_items(execution, begun, subs)
    assert list(recorded(items).values()).count("FAILED") == 1
    # Every target of every account goes back to its snapshot (the failed one's own undo is the extra call).
    every = {(a, r) for a in ACCOUNTS for r in REGIONS}
    rollback_calls = [
        c for c in execution.calls_to(resource(subs, "RollbackFunctionArn")) if c["state"] == "RollbackTarget"
    ]
    assert {(c["input"]["account"], c["input"]["region"]) for c in rollback_calls} == every
    assert recorded(items, "rollback") == dict.fromkeys(every, "ROLLED_BACK")


def test_a_record_write_failing_in_a_child_neither_fails_the_map_nor_passes_for_success(
    started: dict[str, Started], subs: dict[str, str], definition: dict[str, Any]
) -> None:
    """Every record write of one account fails for good: the child still ends (its Catch), the Map and the
    execution do not fail, and FinishRollout, finding those targets PENDING, has every account rolled back."""
    begun, lossy = started["accounts"], ACCOUNTS[1]
    update = integration(definition, "dynamodb:updateItem")
    execution = rollout(
        begun, subs, mocks={update: in_account(f"ACCOUNT#{lossy}", throws("DynamoDB.AmazonDynamoDBException"))}
    )

    assert execution.status == "SUCCEEDED", execution.describe()
    assert not execution.failures_of("RolloutAccounts"), execution.describe()
    lost = [c for c in execution.calls_to(update) if c["state"] == "RecordRegionInAccount" and c["error"]]
    assert len(lost) == 4 * len(REGIONS), "each of the account's records is tried 4 times (its Retry: 3 more)"
    items = account_items(execution, begun, subs)
    assert {r: s for (a, r), s in recorded(items).items() if a == lossy} == dict.fromkeys(REGIONS, "PENDING")
    assert {r: s for (a, r), s in recorded(items).items() if a != lossy} == dict.fromkeys(REGIONS, "SUCCEEDED")
    assert "RollbackAccounts" in {s["name"] for s in execution.states}


# ---------------------------------------------------------------------------------------------------------------
# Static checks of the same definition


def lambda_tasks(definition: dict[str, Any], subs: dict[str, str]) -> dict[str, dict[str, Any]]:
    functions = {value for name, value in subs.items() if name.endswith("FunctionArn")}
    assert functions, "no function ARN among the DefinitionSubstitutions"
    return {
        name: state
        for name, state in states_of(definition)
        if state["Type"] == "Task"
        and (state.get("Resource") in functions or str(state.get("Resource", "")).endswith(":states:::lambda:invoke"))
    }


def test_every_lambda_task_retries_lambda_client_execution_timeouts(
    subs: dict[str, str], definition: dict[str, Any]
) -> None:
    tasks = lambda_tasks(definition, subs)
    missing = [
        name
        for name, state in tasks.items()
        if not any({LAMBDA_TIMEOUT, "States.ALL"} & set(r["ErrorEquals"]) for r in state.get("Retry", []))
    ]
    assert not missing, f"Lambda tasks whose Retry does not cover {LAMBDA_TIMEOUT}: {missing}"


def test_every_task_inside_the_region_map_catches_every_error(subs: dict[str, str], definition: dict[str, Any]) -> None:
    _, the_map = region_map(definition, subs)
    uncaught = [
        name
        for name, state in states_of(the_map.get("ItemProcessor") or the_map["Iterator"])
        if state["Type"] in {"Task", "Map", "Parallel"}
        and not any("States.ALL" in c["ErrorEquals"] for c in state.get("Catch", []))
    ]
    assert not uncaught, f"states inside the region Map that can fail it: {uncaught}"


# ---------------------------------------------------------------------------------------------------------------
# The runner's DynamoDB mock against moto's DynamoDB: the same calls, the same items and errors

KEY = {"pk": {"S": "ROLLOUT#r-1"}, "sk": {"S": "ROLLOUT"}}
RECORD = {
    "UpdateExpression": "SET #regions.#region = :result ADD failedCount :one",
    "ExpressionAttributeNames": {"#regions": "regions", "#region": "eu-west-1"},
    "ExpressionAttributeValues": {":result": {"M": {"status": {"S": "FAILED"}}}, ":one": {"N": "1"}},
}
DYNAMODB_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("getItem", {"Key": KEY}),  # no item yet
    ("updateItem", {"Key": KEY} | RECORD),  # no item: the regions map does not exist
    ("putItem", {"Item": KEY | {"failedCount": {"N": "0"}, "regions": {"M": {}}, "gone": {"S": "x"}}}),
    ("updateItem", {"Key": KEY} | RECORD),
    ("updateItem", {"Key": KEY} | RECORD | {"ConditionExpression": "attribute_exists(pk) AND failedCount < :one"}),
    (
        "updateItem",
        {
            "Key": KEY,
            "UpdateExpression": "SET #s = if_not_exists(#s, :s), tries = if_not_exists(tries, :zero) + :one REMOVE gone",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {":s": {"S": "RUNNING"}, ":zero": {"N": "0"}, ":one": {"N": "1"}},
        },
    ),
    ("getItem", {"Key": KEY, "ProjectionExpression": "failedCount, #s", "ExpressionAttributeNames": {"#s": "status"}}),
    ("getItem", {"Key": KEY, "ProjectionExpression": "regions", "ConsistentRead": True}),  # as AccountTargets reads
]


def test_the_runners_dynamodb_answers_like_moto(moto_aws: None, tmp_path: Any) -> None:
    table = "pullthrough-steps"  # the moto_aws fixture's
    states: dict[str, Any] = {"Done": {"Type": "Succeed"}}
    for i, (action, params) in enumerate(DYNAMODB_CALLS):
        following = f"Call{i + 1}" if i + 1 < len(DYNAMODB_CALLS) else "Done"
        states[f"Call{i}"] = {
            "Type": "Task",
            "Resource": f"arn:aws:states:::dynamodb:{action}",
            "Parameters": {"TableName": table} | params,
            "ResultPath": f"$.call{i}",
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": f"$.call{i}", "Next": following}],
            "Next": following,
        }
    asl = tmp_path / "dynamodb.asl.json"
    asl.write_text(json.dumps({"StartAt": "Call0", "States": states}))

    execution = run(asl, {}, {}, tables={table: []})

    client = boto3.client("dynamodb", region_name=HOME)
    expected: dict[str, Any] = {}
    for i, (action, params) in enumerate(DYNAMODB_CALLS):
        methods: dict[str, Callable[..., Any]] = {
            "getItem": client.get_item,
            "putItem": client.put_item,
            "updateItem": client.update_item,
        }
        method = methods[action]
        try:
            answer = method(TableName=table, **params)
            expected[f"call{i}"] = {k: v for k, v in answer.items() if k in {"Item", "Attributes"}}
        except client.exceptions.ClientError as error:
            code = error.response["Error"]["Code"]
            expected[f"call{i}"] = "DynamoDB." + {"ValidationException": "AmazonDynamoDBException"}.get(code, code)
    got = {k: v.get("Error", v) for k, v in execution.output.items()}
    assert got == expected
    assert execution.tables[table] == client.scan(TableName=table)["Items"]


def test_every_lambda_task_times_out_after_its_function_could_have_finished(
    subs: dict[str, str], definition: dict[str, Any]
) -> None:
    """States.Timeout is in the Retry lists: it can only happen if a task sets TimeoutSeconds. A lost invocation then
    ends as a retried States.Timeout instead of hanging; the limit must exceed the function's own Timeout."""
    from local.template_reader import load_template

    functions = {fn.logical_id: fn.timeout for fn in load_template().functions.values()}
    by_arn = {subs[f"{lid}Arn"]: timeout for lid, timeout in functions.items() if f"{lid}Arn" in subs}
    for name, state in lambda_tasks(definition, subs).items():
        assert state.get("TimeoutSeconds", 0) > by_arn[state["Resource"]], name


def test_a_finish_that_fails_for_good_rolls_every_region_back_and_closes_the_rollout(
    started: dict[str, Started], subs: dict[str, str]
) -> None:
    finish = resource(subs, "FinishRolloutFunctionArn")
    execution = rollout(started["default"], subs, mocks={finish: {"outcomes": [throws("AccessDenied")]}})

    assert execution.status == "SUCCEEDED", execution.describe()
    assert [bool(f.get("afterRollback")) for f in execution.inputs_to(finish)] == [False, True]
    assert sorted(regions_called(execution, resource(subs, "RollbackFunctionArn"))) == sorted(REGIONS)
    [closing] = execution.inputs_to(resource(subs, "RecoverRolloutFunctionArn"))
    assert closing["error"]["Error"] == "AccessDenied"


# ---------------------------------------------------------------------------------------------------------------
# Throttling: Lambda refuses invocations past the account's concurrency (340-800 concurrent steps at the defaults).
# The function never ran, so the call is retried longer than the steps' own transient errors, and a FinishRollout
# that cannot run never turns a rollout whose targets all succeeded into a rollback.
THROTTLED = "Lambda.TooManyRequestsException"


def test_a_step_throttled_more_often_than_a_transient_error_is_retried_still_succeeds(
    started: dict[str, Started], subs: dict[str, str], definition: dict[str, Any]
) -> None:
    create_rule = resource(subs, "CreateRuleFunctionArn")
    outcomes = [throws(THROTTLED)] * 6 + [STEP_OUTPUTS["CreateRuleFunctionArn"]]
    execution = rollout(started["default"], subs, mocks={create_rule: in_region(FAILING, *outcomes)})

    finish = assert_finished(execution, definition, subs)
    assert regions_called(execution, create_rule).count(FAILING) == 7
    assert by_region(finish["regionResults"]) == dict.fromkeys(REGIONS, "SUCCEEDED")
    assert not execution.calls_to(resource(subs, "RollbackFunctionArn"))


@pytest.mark.parametrize("error", [THROTTLED, "Lambda.ServiceException"])
def test_a_finish_rollout_that_lambda_keeps_refusing_never_rolls_back_a_rollout_that_succeeded(
    error: str, started: dict[str, Started], subs: dict[str, str]
) -> None:
    finish_arn = resource(subs, "FinishRolloutFunctionArn")
    refusals = [throws(error)] * 25  # past every Retry of the state: its Catch runs, at least once
    execution = rollout(started["default"], subs, mocks={finish_arn: {"outcomes": [*refusals, {"finish": True}]}})

    assert execution.status == "SUCCEEDED", execution.describe()
    assert not execution.calls_to(resource(subs, "RollbackFunctionArn")), "a throttled finish rolled back"
    finish = execution.inputs_to(finish_arn)
    assert len(finish) == 26 and not any(f.get("afterRollback") for f in finish)
    assert by_region(finish[-1]["regionResults"]) == dict.fromkeys(REGIONS, "SUCCEEDED")
