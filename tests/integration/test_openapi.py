"""The OpenAPI document tells the truth: every documented response is what the handler returns (checked against the
document's own schemas), every example is valid, and the checked-in docs/openapi.json is what the API serves."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate as validate_openapi

from local.openapi_doc import DOCUMENT, render, served_document
from pullthrough import aws
from pullthrough.api_schema import REQUEST_EXAMPLES, RESPONSE_EXAMPLES
from pullthrough.models import RuleRequest, parse_model
from tests.integration.app_support import API, AppEnv, api, organization_members, provision
from tests.support import CANARY, HOME, FakeContext, load_handler

FINISH = load_handler("finish_rollout")
ROOT = Path(__file__).resolve().parents[2]
CHECKED_IN: dict[str, Any] = json.loads(DOCUMENT.read_text())
DOCKER_HUB = {
    "upstreamRegistry": "docker-hub",
    "credentials": {"username": "octocat", "accessToken": CANARY},
    "regions": ["us-east-1", "eu-west-1"],
}
QUAY = {"upstreamRegistry": "quay", "regions": ["us-east-1", "eu-west-1", "ap-southeast-2"]}
Answers = list[tuple[int, Any]]


@pytest.fixture
def app(moto_aws: None, monkeypatch: pytest.MonkeyPatch) -> AppEnv:
    return provision(monkeypatch)


def documented_responses(document: dict[str, Any]) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(METHOD, path, status, response object) for every response the document lists."""
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                yield method.upper(), path, status, response


def schema_of(response: dict[str, Any]) -> dict[str, Any]:
    return dict(response["content"]["application/json"]["schema"])


def check(document: dict[str, Any], schema: dict[str, Any], body: Any) -> None:
    """``body`` fits ``schema`` (whose $refs point into the document's components)."""
    OAS31Validator({**schema, "components": document["components"]}).validate(body)


# -- what each documented response is, produced by the handler on moto ------------------------------------------


def aws_answers(code: str) -> None:
    """Every DynamoDB call the app makes from now on gets AWS's ``code`` error (botocore's own error path)."""

    def answer(**_: Any) -> tuple[Any, dict[str, Any]]:
        return SimpleNamespace(status_code=400, headers={}), {
            "Error": {"Code": code, "Message": "simulated"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }

    aws.client("dynamodb", HOME).meta.events.register("before-call.dynamodb.*", answer)


def started(app: AppEnv, body: dict[str, Any] = QUAY) -> dict[str, Any]:
    status, answer = api("POST", "/rules", body)
    assert status == 202, answer
    return dict(answer)


def finished(app: AppEnv, **finish: Any) -> dict[str, Any]:
    """A rollout of QUAY ended by FinishRollout with ``finish`` (regionResults, rollbackResults...)."""
    rollout = started(app)
    FINISH.handler({"rolloutId": rollout["rolloutId"], "prefix": "quay", **finish}, FakeContext())
    return rollout


def result(region: str, status: str, **fields: Any) -> dict[str, Any]:
    return (
        {"rolloutId": "x", "region": region, "action": "APPLY", "status": status, "step": None, "error": None}
        | {"changes": {"secret": "skipped", "rule": "created", "template": "created"}}
        | fields
    )


FAILURE = {"Error": "RuleValidationFailed", "Cause": json.dumps({"errorMessage": "upstream unreachable"})}


def rollout_views(app: AppEnv) -> Answers:
    """GET /rollouts/{id} of a running rollout, a succeeded one, one rolled back (with a skipped region), one
    whose rollback failed, and a delete."""
    running = started(app)
    views = [api("GET", f"/rollouts/{running['rolloutId']}")]
    FINISH.handler({"rolloutId": running["rolloutId"], "prefix": "quay", "regionResults": []}, FakeContext())
    views.append(api("GET", f"/rollouts/{running['rolloutId']}"))
    failed = [
        result("us-east-1", "SUCCEEDED"),
        result("eu-west-1", "FAILED", step="ValidateRule", error=FAILURE, changes={}),
        result("ap-southeast-2", "SKIPPED", changes={"secret": "skipped", "rule": "skipped", "template": "skipped"}),
    ]
    undone = [{"region": r, "status": "ROLLED_BACK", "error": None} for r in ("us-east-1", "eu-west-1")]
    undo_failed = [{"region": "us-east-1", "status": "ROLLBACK_FAILED", "error": FAILURE}]
    for rollback in (undone, undo_failed):
        rolled = finished(app, regionResults=failed, afterRollback=True, rollbackResults=rollback)
        views.append(api("GET", f"/rollouts/{rolled['rolloutId']}"))
    deleting = api("DELETE", "/rules/quay")[1]
    views.append(api("GET", f"/rollouts/{deleting['rolloutId']}"))
    return views


def rule_views(app: AppEnv) -> Answers:
    started(app, DOCKER_HUB | {"ecrRepositoryPrefix": "team/docker"})
    finished(app, regionResults=[result("us-east-1", "SUCCEEDED", secret={"secretArn": "arn", "versionId": "v1"})])
    return [api("GET", "/rules/quay"), api("GET", "/rules/team/docker")]


Scenario = Callable[[AppEnv], Answers]


def calls(*requests: tuple[Any, ...]) -> Scenario:
    """A scenario of plain calls: each ``(method, path[, body[, query]])``."""

    def run(app: AppEnv) -> Answers:
        return [api(r[0], r[1], r[2] if len(r) > 2 else None, query=r[3] if len(r) > 3 else None) for r in requests]

    return run


def refused_by_aws(code: str, method: str, path: str, body: Any = None) -> Scenario:
    """The call, with every DynamoDB call answered by AWS's error ``code``."""

    def run(app: AppEnv) -> Answers:
        aws_answers(code)
        return [api(method, path, body)]

    return run


def with_running(then: Scenario, body: dict[str, Any] = QUAY) -> Scenario:
    """``then``, while a rollout of ``body`` runs."""

    def run(app: AppEnv) -> Answers:
        started(app, body)
        return then(app)

    return run


def with_finished(then: Scenario) -> Scenario:
    """``then``, once a rollout of QUAY has succeeded."""

    def run(app: AppEnv) -> Answers:
        finished(app, regionResults=[])
        return then(app)

    return run


def rules_listed(app: AppEnv) -> Answers:
    empty = api("GET", "/rules")
    rule_views(app)  # one rule rolling out, one rolled out
    return [empty, api("GET", "/rules")]


def malformed(app: AppEnv) -> Answers:
    return [api("POST", "/rules", raw="[" * 10_000 + "]" * 10_000)]


def misspelt(method: str, path: str) -> Scenario:
    return calls((method, path, None, {"dryrun": "true"}))


SOME_ID = "/rollouts/r-" + "0" * 32
PULL_TEST = {"prefix": "quay", "image": "library/alpine:3.20"}
SCENARIOS: dict[tuple[str, str, str], Scenario] = {
    ("POST", "/rules", "400"): lambda app: [
        *calls(("POST", "/rules", QUAY, {"dryrun": "true"}))(app),
        api("POST", "/rules", raw='{"upstreamRegistry": '),
        api("POST", "/rules", binary=b"\xff"),
    ],
    ("POST", "/rules", "202"): calls(("POST", "/rules", DOCKER_HUB), ("POST", "/rules", QUAY, {"dryRun": "true"})),
    ("POST", "/rules", "409"): with_running(calls(("POST", "/rules", DOCKER_HUB)), DOCKER_HUB),
    ("POST", "/rules", "413"): calls(("POST", "/rules", DOCKER_HUB | {"padding": "x" * 300_000})),
    ("POST", "/rules", "422"): lambda app: [
        *calls(("POST", "/rules", DOCKER_HUB | {"ecrRepositoryPrefix": "Bad Prefix"}))(app),
        *calls(("POST", "/rules", QUAY, {"dryRun": "maybe"}))(app),
        *malformed(app),
    ],
    ("POST", "/rules", "502"): refused_by_aws("AccessDeniedException", "POST", "/rules", QUAY),
    ("POST", "/rules", "503"): refused_by_aws("ThrottlingException", "POST", "/rules", QUAY),
    ("POST", "/pull-tests", "200"): with_running(calls(("POST", "/pull-tests", PULL_TEST))),  # deployed nowhere yet
    ("POST", "/pull-tests", "400"): lambda app: [api("POST", "/pull-tests", raw='{"prefix": ')],
    ("POST", "/pull-tests", "404"): calls(("POST", "/pull-tests", PULL_TEST)),
    ("POST", "/pull-tests", "422"): calls(("POST", "/pull-tests", PULL_TEST | {"image": "alpine"})),
    ("POST", "/pull-tests", "502"): refused_by_aws("AccessDeniedException", "POST", "/pull-tests", PULL_TEST),
    ("POST", "/pull-tests", "503"): refused_by_aws("ThrottlingException", "POST", "/pull-tests", PULL_TEST),
    ("PUT", "/rules/{prefix}", "400"): lambda app: [
        *calls(("PUT", "/rules/quay", QUAY, {"dryrun": "true"}))(app),
        api("PUT", "/rules/quay", raw='{"upstreamRegistry": '),
        api("PUT", "/rules/quay", binary=b"\xff"),
    ],
    ("PUT", "/rules/{prefix}", "202"): calls(
        ("PUT", "/rules/team/quay", QUAY), ("PUT", "/rules/team%2Fdocker", DOCKER_HUB, {"dryRun": "true"})
    ),
    ("PUT", "/rules/{prefix}", "409"): with_running(calls(("PUT", "/rules/quay", QUAY))),
    ("PUT", "/rules/{prefix}", "413"): calls(("PUT", "/rules/quay", QUAY | {"padding": "x" * 300_000})),
    ("PUT", "/rules/{prefix}", "422"): calls(
        ("PUT", "/rules/quay", QUAY | {"ecrRepositoryPrefix": "other"}), ("PUT", "/rules/Bad Prefix", QUAY)
    ),
    ("PUT", "/rules/{prefix}", "502"): refused_by_aws("AccessDeniedException", "PUT", "/rules/quay", QUAY),
    ("PUT", "/rules/{prefix}", "503"): refused_by_aws("ThrottlingException", "PUT", "/rules/quay", QUAY),
    ("GET", "/rules", "200"): rules_listed,
    ("GET", "/rules", "400"): misspelt("GET", "/rules"),
    ("GET", "/rules/{prefix}", "400"): misspelt("GET", "/rules/quay"),
    ("DELETE", "/rules/{prefix}", "400"): misspelt("DELETE", "/rules/quay"),
    ("GET", "/rollouts/{rolloutId}", "400"): misspelt("GET", SOME_ID),
    ("GET", "/rules", "502"): refused_by_aws("AccessDeniedException", "GET", "/rules"),
    ("GET", "/rules", "503"): refused_by_aws("ThrottlingException", "GET", "/rules"),
    ("GET", "/rules/{prefix}", "200"): rule_views,
    ("GET", "/rules/{prefix}", "404"): calls(("GET", "/rules/nothing"), ("GET", "/rules/UPPER")),
    ("GET", "/rules/{prefix}", "422"): with_running(calls(("GET", "/rules/quay", None, {"nextToken": "e30"}))),
    ("GET", "/rules/{prefix}", "502"): refused_by_aws("AccessDeniedException", "GET", "/rules/quay"),
    ("GET", "/rules/{prefix}", "503"): refused_by_aws("ThrottlingException", "GET", "/rules/quay"),
    ("DELETE", "/rules/{prefix}", "202"): with_finished(
        calls(("DELETE", "/rules/quay", None, {"dryRun": "true"}), ("DELETE", "/rules/quay"))
    ),
    ("DELETE", "/rules/{prefix}", "404"): calls(("DELETE", "/rules/nothing")),
    ("DELETE", "/rules/{prefix}", "409"): with_running(calls(("DELETE", "/rules/quay"))),
    ("DELETE", "/rules/{prefix}", "422"): calls(("DELETE", "/rules/quay", None, {"dryRun": "yes please"})),
    ("DELETE", "/rules/{prefix}", "502"): refused_by_aws("AccessDeniedException", "DELETE", "/rules/quay"),
    ("DELETE", "/rules/{prefix}", "503"): refused_by_aws("ThrottlingException", "DELETE", "/rules/quay"),
    ("GET", "/rollouts/{rolloutId}", "200"): rollout_views,
    ("GET", "/rollouts/{rolloutId}", "404"): calls(("GET", SOME_ID), ("GET", "/rollouts/not-an-id")),
    ("GET", "/rollouts/{rolloutId}", "422"): lambda app: [
        api("GET", f"/rollouts/{started(app)['rolloutId']}", query={"nextToken": "not-a-token"})
    ],
    ("GET", "/rollouts/{rolloutId}", "502"): refused_by_aws("AccessDeniedException", "GET", SOME_ID),
    ("GET", "/rollouts/{rolloutId}", "503"): refused_by_aws("ThrottlingException", "GET", SOME_ID),
}
DOCUMENTED = {(method, path, status): response for method, path, status, response in documented_responses(CHECKED_IN)}


def test_every_documented_response_has_a_scenario_and_every_scenario_is_documented() -> None:
    assert set(SCENARIOS) == set(DOCUMENTED)


@pytest.mark.parametrize("key", sorted(DOCUMENTED), ids=lambda key: " ".join(key))
def test_each_documented_response_is_what_the_handler_returns(app: AppEnv, key: tuple[str, str, str]) -> None:
    answers = SCENARIOS[key](app)
    assert answers
    for status, body in answers:
        assert status == int(key[2]), body
        check(CHECKED_IN, schema_of(DOCUMENTED[key]), body)
        assert CANARY not in json.dumps(body)


def test_the_checked_in_document_is_what_the_api_serves() -> None:
    assert render(served_document()) == DOCUMENT.read_text(), "docs/openapi.json is stale: run make docs"


def test_the_document_is_valid_openapi_3_1_with_a_sigv4_scheme_applied_to_every_call() -> None:
    validate_openapi(CHECKED_IN)
    assert CHECKED_IN["openapi"].startswith("3.1")
    scheme = CHECKED_IN["components"]["securitySchemes"]["sigv4"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")
    assert scheme["x-amazon-apigateway-authtype"] == "awsSigv4"
    assert CHECKED_IN["security"] == [{"sigv4": []}]


def test_the_document_lists_no_response_the_api_never_gives() -> None:
    listed = {(m, p): sorted(s for (m2, p2, s) in DOCUMENTED if (m2, p2) == (m, p)) for (m, p, _) in DOCUMENTED}
    assert listed == {
        ("POST", "/rules"): ["202", "400", "409", "413", "422", "502", "503"],
        ("PUT", "/rules/{prefix}"): ["202", "400", "409", "413", "422", "502", "503"],
        ("GET", "/rules"): ["200", "400", "502", "503"],
        ("GET", "/rules/{prefix}"): ["200", "400", "404", "422", "502", "503"],
        ("DELETE", "/rules/{prefix}"): ["202", "400", "404", "409", "422", "502", "503"],
        ("GET", "/rollouts/{rolloutId}"): ["200", "400", "404", "422", "502", "503"],
        ("POST", "/pull-tests"): ["200", "400", "404", "422", "502", "503"],
    }
    text = json.dumps(CHECKED_IN)
    assert "HTTPValidationError" not in text and '"detail"' not in text and 'additionalProperties": true' not in text


def test_both_dry_runs_are_documented_as_query_parameters() -> None:
    for method, path in (("post", "/rules"), ("put", "/rules/{prefix}"), ("delete", "/rules/{prefix}")):
        [dry_run] = [p for p in CHECKED_IN["paths"][path][method]["parameters"] if p["name"] == "dryRun"]
        assert (
            dry_run["in"] == "query" and dry_run["schema"]["type"] == "boolean" and "PLANNED" in dry_run["description"]
        )


def schemas_properties() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for name, schema in CHECKED_IN["components"]["schemas"].items():
        for field, spec in schema.get("properties", {}).items():
            yield name, field, spec


def test_every_field_has_a_description_and_a_readable_title() -> None:
    undescribed = [f"{model}.{field}" for model, field, spec in schemas_properties() if not spec.get("description")]
    assert undescribed == []
    squashed = [
        f"{model}.{field}: {spec.get('title')}"
        for model, field, spec in schemas_properties()
        if any(c.isupper() for c in field[1:]) and " " not in spec.get("title", "")
    ]
    assert squashed == []  # e.g. "Upstreamregistry" for upstreamRegistry


def texts(node: Any) -> Iterator[str]:
    """Every description and summary in the document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("description", "summary") and isinstance(value, str):
                yield value
            yield from texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from texts(item)


def test_no_text_holds_angle_brackets_that_swagger_ui_would_swallow_as_html() -> None:
    assert [text for text in texts(CHECKED_IN) if "<" in text] == []


def request_examples() -> dict[str, Any]:
    examples: dict[str, Any] = CHECKED_IN["paths"]["/rules"]["post"]["requestBody"]["content"]["application/json"][
        "examples"
    ]
    return examples


def test_the_request_examples_cover_docker_hub_quay_and_ecr_to_ecr() -> None:
    examples = request_examples()
    assert examples == json.loads(json.dumps(REQUEST_EXAMPLES))
    upstreams = {example["value"]["upstreamRegistry"] for example in examples.values()}
    assert upstreams == {"docker-hub", "quay", "ecr"}
    docker_hub = examples["docker-hub"]["value"]["credentials"]
    assert "EXAMPLE" in docker_hub["accessToken"]  # a placeholder, visibly


@pytest.mark.parametrize("name", sorted(REQUEST_EXAMPLES))
def test_each_request_example_is_valid_and_starts_a_rollout(app: AppEnv, name: str) -> None:
    value = request_examples()[name]["value"]
    check(
        CHECKED_IN, CHECKED_IN["paths"]["/rules"]["post"]["requestBody"]["content"]["application/json"]["schema"], value
    )
    parse_model(RuleRequest, value)
    if value.get("accounts") or value.get("organizationalUnits"):  # the example's accounts stand for members
        organization_members(*value.get("accounts") or [])
    if value.get("organizationalUnits"):  # moto makes up OU ids: the example's stands for one of this organization's
        org = boto3.client("organizations", region_name="us-east-1")
        root = org.list_roots()["Roots"][0]["Id"]
        unit = org.create_organizational_unit(ParentId=root, Name="example")["OrganizationalUnit"]["Id"]
        value = value | {"organizationalUnits": [unit]}
    status, body = api("POST", "/rules", value)
    assert status == 202, body
    check(CHECKED_IN, schema_of(DOCUMENTED[("POST", "/rules", "202")]), body)


def test_each_response_example_fits_its_schema() -> None:
    seen = 0
    for _, _, _, response in documented_responses(CHECKED_IN):
        content = response["content"]["application/json"]
        for example in content.get("examples", {}).values():
            check(CHECKED_IN, content["schema"], example["value"])
            seen += 1
    assert seen >= 4


def test_the_error_examples_are_what_the_handler_says(app: AppEnv) -> None:
    assert api("GET", "/rules/team/quay")[1] == RESPONSE_EXAMPLES["noRule"]
    assert api("GET", RESPONSE_EXAMPLES["started"]["links"]["rollout"])[1] == RESPONSE_EXAMPLES["noRollout"]
    assert api("POST", "/rules", DOCKER_HUB | {"padding": "x" * 300_000})[1] == RESPONSE_EXAMPLES["tooLarge"]
    assert api("POST", "/rules", DOCKER_HUB | {"ecrRepositoryPrefix": "Bad Prefix"})[1] == RESPONSE_EXAMPLES["invalid"]
    first = started(app, DOCKER_HUB)
    busy = api("POST", "/rules", DOCKER_HUB)[1]
    shown = json.loads(
        json.dumps(RESPONSE_EXAMPLES["busy"]).replace(RESPONSE_EXAMPLES["busy"]["rolloutId"], first["rolloutId"])
    )
    assert busy == shown


@pytest.mark.parametrize(("name", "status"), [("api_post_rules", "202"), ("api_get_rollout", "404")])
def test_the_sample_api_events_get_documented_answers(app: AppEnv, name: str, status: str) -> None:
    event = json.loads((ROOT / "events" / f"{name}.json").read_text())
    answer = API.handler(event, FakeContext())
    assert str(answer["statusCode"]) == status, answer["body"]
    check(
        CHECKED_IN, schema_of(DOCUMENTED[(event["httpMethod"], event["resource"], status)]), json.loads(answer["body"])
    )


def test_the_step_names_documented_are_the_state_machines() -> None:
    # Every *Failed Pass state names the step that failed (RegionProgress.step).
    definition = json.loads((ROOT / "statemachine" / "rollout.asl.json").read_text())
    region = definition["States"]["RolloutRegions"]["ItemProcessor"]["States"]
    steps = {state["Result"] for name, state in region.items() if name.endswith("Failed") and "Result" in state}
    documented = CHECKED_IN["components"]["schemas"]["RegionProgress"]["properties"]["step"]["anyOf"][0]["enum"]
    assert steps == set(documented)
