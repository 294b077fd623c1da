"""The REST API: rule requests in, rollout status out. Errors are mapped to HTTP here, in one place.

The OpenAPI document (GET /swagger?format=json, and docs/openapi.json) is generated from these routes: each one
declares every status it answers with, and the models in pullthrough.api_schema describe the bodies.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Annotated, Any
from urllib.parse import quote, unquote

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import APIKey, Tag
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse, OpenAPIResponseContentModel
from aws_lambda_powertools.logging import correlation_paths
from pydantic import BeforeValidator

from pullthrough import exceptions as ex
from pullthrough.adapters.store import PrefixBusy
from pullthrough.api_http import RULES_PATH, DocumentedResolver, refusal, routable, true_or_false
from pullthrough.api_schema import (
    REQUEST_EXAMPLES,
    RESPONSE_EXAMPLES,
    Busy,
    Error,
    PullTestResult,
    Rollout,
    RolloutAccepted,
    RuleList,
    RuleView,
)
from pullthrough.metrics import api_response
from pullthrough.models import PullTestRequest, RuleRequest
from pullthrough.observability import logger
from pullthrough.path_rules import for_path_prefix
from pullthrough.prefixes import canonical_prefix
from pullthrough.rollouts.delete import start_delete
from pullthrough.rollouts.deps import UnknownRule
from pullthrough.rollouts.plan import plan
from pullthrough.rollouts.pull_test import pull_test
from pullthrough.rollouts.start import start
from pullthrough.rollouts.view import rule_of, rule_views, view
from pullthrough.validation import field_errors
from pullthrough.wiring import rollouts_from_env, smoke_pull_from_env

SIGV4 = "sigv4"
RULES, ROLLOUTS = "rules", "rollouts"
app = DocumentedResolver(enable_validation=True)
app.enable_swagger(
    path="/swagger",
    title="pullthrough",
    version="1",
    description=(
        "Roll Amazon ECR pull-through cache rules out to many regions, all or nothing. A POST or DELETE starts a "
        "rollout (202); follow it at /rollouts/{rolloutId}. Deployed, every call is signed with AWS Signature "
        "Version 4 (service execute-api) by a principal allowed execute-api:Invoke; the local API takes unsigned "
        "calls."
    ),
    security_schemes={
        SIGV4: APIKey.model_validate(
            {
                "in": "header",
                "name": "Authorization",
                "description": "AWS Signature Version 4 for service execute-api (`curl --aws-sigv4 "
                '"aws:amz:REGION:execute-api"`, or any AWS SDK signer).',
                "x-amazon-apigateway-authtype": "awsSigv4",
            }
        )
    },
    security=[{SIGV4: []}],
    tags=[
        Tag(name=RULES, description="The desired pull-through cache rules: roll out, read, delete"),
        Tag(name=ROLLOUTS, description="How a rollout goes, region by region"),
    ],
)

PREFIX_SHAPE = re.compile(r"[a-z0-9][a-z0-9._/-]{1,29}|ROOT")
ROLLOUT_ID_SHAPE = re.compile(r"r-[0-9a-f]{32}")


class NotFound(ex.InvalidRequest):
    """A path names nothing: no such rule or rollout."""


def _response(description: str, model: type, example: str | None = None) -> OpenAPIResponse:
    """An OpenAPI response: its body's model and, by name, an example from RESPONSE_EXAMPLES."""
    content: OpenAPIResponseContentModel = {"model": model}
    if example is not None:
        content["examples"] = {example: {"value": RESPONSE_EXAMPLES[example]}}
    return {"description": description, "content": {content_types.APPLICATION_JSON: content}}


NOT_AS_WRITTEN = "A query parameter the route does not take, or a header spelt like one it takes (each is named)"
BAD_QUERY = _response(NOT_AS_WRITTEN, Error, "unknownQuery")
BAD_BODY = _response(NOT_AS_WRITTEN + ", or a body that is not UTF-8 text or not JSON", Error, "notJson")
INVALID = _response("The request is invalid: each error names its field", Error, "invalid")
UNAVAILABLE = _response("AWS throttled or failed for a moment: retry with backoff", Error, "throttled")
FAILED = _response("AWS refused a call pullthrough made (permissions, quotas)", Error, "denied")
BUSY = _response("A rollout of the prefix is running: follow it, then retry", Busy, "busy")
NO_RULE = _response("No rule with that prefix", Error, "noRule")
BAD_TOKEN = _response("nextToken is not one this listing gave", Error, "badToken")
DRY_RUN = Query(
    title="Dry run",
    description="true: plan only. The same state machine and steps run with every write refused; no lock is "
    "taken, nothing is stored, and the rollout ends PLANNED with the changes it would make.",
)
IDEMPOTENCY_KEY = Header(
    alias="idempotency-key",
    description="Any string of yours: the same key with the same body, sent again within 10 minutes of the first, "
    "returns the rollout it started (running or finished); with another body, 422.",
)
NEXT_TOKEN = Query(
    title="Next token",
    description="The nextToken of the previous page: the next (up to 500) targets. Only from this same listing.",
)
PREFIX = Path(
    description="An ecrRepositoryPrefix. One with a / may be given raw (/rules/team/quay) or percent-encoded "
    "(/rules/team%2Fquay); a trailing / names the same rule.",
)


def _rule_prefix(raw: str) -> str:
    """The prefix a path names, raw or percent-encoded; ``x/`` is the rule ``x``, as in ECR."""
    prefix = unquote(raw)
    if not PREFIX_SHAPE.fullmatch(prefix):
        raise _no_rule(prefix)
    return canonical_prefix(prefix)


def _path_prefix(raw: str) -> str:
    """The prefix a PUT path names; one that is not a rule prefix is the client's mistake (422, not 404)."""
    prefix = unquote(raw)
    if not PREFIX_SHAPE.fullmatch(prefix):
        raise ex.InvalidRequest("is not an ecrRepositoryPrefix (2-30 of a-z 0-9 . _ - /, or ROOT)", field="prefix")
    return canonical_prefix(prefix)


def _no_rule(prefix: str) -> NotFound:
    return NotFound(f"no rule with prefix {prefix[:64]!r}", field="prefix")


def _started(started: dict[str, Any]) -> Response[dict[str, Any]]:
    started["links"] = {
        "rollout": f"/rollouts/{started['rolloutId']}",
        **({"rule": RULES_PATH + quote(started["prefix"], safe="")} if started.get("operation") != "DELETE" else {}),
    }
    return _json(HTTPStatus.ACCEPTED, started)


def _json(status: HTTPStatus, body: dict[str, Any]) -> Response[dict[str, Any]]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


# POST /rules and PUT /rules/{prefix}: one body, the same answers.
ROLL_OUT_ANSWERS: dict[int, OpenAPIResponse] = {
    202: _response("The rollout started: follow links.rollout", RolloutAccepted, "started"),
    400: BAD_BODY,
    409: BUSY,
    413: _response("The body is larger than 256 KB", Error, "tooLarge"),
    422: INVALID,
    502: FAILED,
    503: UNAVAILABLE,
}


@app.post(
    "/rules",
    summary="Roll a pull-through cache rule out to regions",
    tags=[RULES],
    description="The body is the rule's whole desired state: a request for an existing prefix replaces it, and "
    "regions it no longer names lose the rule. The same body without inline credentials, sent while its rollout "
    "runs (at the same moment included), returns that rollout; so does the same Idempotency-Key for 10 minutes.",
    responses=ROLL_OUT_ANSWERS,
)
def post_rule(
    request: Annotated[RuleRequest, Body(embed=False, openapi_examples=REQUEST_EXAMPLES)],
    dryRun: Annotated[bool, BeforeValidator(true_or_false), DRY_RUN] = False,
    idempotency_key: Annotated[str | None, IDEMPOTENCY_KEY] = None,
) -> Response[dict[str, Any]]:
    return _roll_out(request, dryRun, idempotency_key)


def _roll_out(request: RuleRequest, dry_run: bool, idempotency_key: str | None) -> Response[dict[str, Any]]:
    """POST and PUT: plan the request, or start its rollout."""
    deps = rollouts_from_env(organization=True)
    if dry_run:
        return _started(plan(deps, request))
    return _started(start(deps, request, idempotency_key=idempotency_key))


@app.put(
    "/rules/<prefix>",
    summary="Roll the pull-through cache rule of one prefix out (the prefix in the path)",
    tags=[RULES],
    description="The same body and answers as POST /rules, for the prefix the path names: a body that names "
    "ecrRepositoryPrefix must name the same one. With the prefix in the path, IAM can allow a team "
    "execute-api:Invoke on PUT/rules/team-a/* (and DELETE/rules/team-a/*) only.",
    responses=ROLL_OUT_ANSWERS,
)
def put_rule(
    prefix: Annotated[str, PREFIX],
    request: Annotated[RuleRequest, Body(embed=False, openapi_examples=REQUEST_EXAMPLES)],
    dryRun: Annotated[bool, BeforeValidator(true_or_false), DRY_RUN] = False,
    idempotency_key: Annotated[str | None, IDEMPOTENCY_KEY] = None,
) -> Response[dict[str, Any]]:
    request = for_path_prefix(request, _path_prefix(prefix), app.current_event.json_body)
    return _roll_out(request, dryRun, idempotency_key)


@app.get(
    "/rules",
    summary="The desired rules (where each is deployed as counts: GET /rules/{prefix} lists the targets)",
    tags=[RULES],
    responses={
        200: _response("Every desired rule", RuleList, "rules"),
        400: BAD_QUERY,
        502: FAILED,
        503: UNAVAILABLE,
    },
)
def list_rules() -> dict[str, Any]:
    return {"rules": rule_views(rollouts_from_env())}


@app.get(
    "/rules/<prefix>",
    summary="One desired rule, where it is deployed (500 targets at a time: nextToken), its last rollout and drift",
    tags=[RULES],
    responses={
        200: _response("The rule, with a page of the targets it is deployed to", RuleView, "rule"),
        400: BAD_QUERY,
        404: NO_RULE,
        422: BAD_TOKEN,
        502: FAILED,
        503: UNAVAILABLE,
    },
)
def get_rule(prefix: Annotated[str, PREFIX], nextToken: Annotated[str | None, NEXT_TOKEN] = None) -> dict[str, Any]:
    wanted = _rule_prefix(prefix)
    found = rule_of(rollouts_from_env(), wanted, nextToken)
    if found is None:
        raise _no_rule(wanted)
    return found


@app.delete(
    "/rules/<prefix>",
    summary="Remove a rule, its template and secret from every region, all or nothing",
    tags=[RULES],
    responses={
        202: _response("The delete rollout started: follow links.rollout", RolloutAccepted),
        400: BAD_QUERY,
        404: NO_RULE,
        409: BUSY,
        422: _response("dryRun is not true or false", Error),
        502: FAILED,
        503: UNAVAILABLE,
    },
)
def delete_rule(
    prefix: Annotated[str, PREFIX], dryRun: Annotated[bool, BeforeValidator(true_or_false), DRY_RUN] = False
) -> Response[dict[str, Any]]:
    return _started(start_delete(rollouts_from_env(), _rule_prefix(prefix), plan=dryRun))


@app.post(
    "/pull-tests",
    summary="Pull an image through a rule in every target it is deployed in, now",
    tags=[RULES],
    description="Runs the rollout's SmokePull step in each target where pullthrough holds the rule: the manifest "
    "of PREFIX/REPOSITORY:TAG pulled through the target's cache, its digest, or the registry's answer. A first pull "
    "caches the image (and creates its repository from the creation template), as any pull does.",
    responses={
        200: _response("Each target's digest or failure", PullTestResult),
        400: BAD_BODY,
        404: NO_RULE,
        422: INVALID,
        502: FAILED,
        503: UNAVAILABLE,
    },
)
def post_pull_test(request: Annotated[PullTestRequest, Body(embed=False)]) -> dict[str, Any]:
    return pull_test(rollouts_from_env(), smoke_pull_from_env(), request.prefix, request.image)


@app.get(
    "/rollouts/<rolloutId>",
    summary="A rollout's status, region by region; its targets 500 at a time (nextToken)",
    tags=[ROLLOUTS],
    responses={
        200: _response("The rollout, with a page of its targets", Rollout, "rolledBack"),
        400: BAD_QUERY,
        404: _response("No rollout with that id", Error, "noRollout"),
        422: BAD_TOKEN,
        502: FAILED,
        503: UNAVAILABLE,
    },
)
def get_rollout(
    rolloutId: Annotated[str, Path(description="The rolloutId a POST or DELETE answered with.")],
    nextToken: Annotated[str | None, NEXT_TOKEN] = None,
) -> Any:
    missing = NotFound(f"no rollout with id {rolloutId[:64]!r}", field="rolloutId")
    if not ROLLOUT_ID_SHAPE.fullmatch(rolloutId):
        raise missing
    found = view(rollouts_from_env(), rolloutId, nextToken)
    if found is None:
        raise missing
    return found


def _error(status: HTTPStatus, error: ex.PullthroughError) -> Response[dict[str, Any]]:
    message = f"{error.field}: {error.message}" if error.field else error.message
    return _json(status, {"message": message, "errors": error.errors})


@app.exception_handler(RequestValidationError)
def _invalid_input(error: RequestValidationError) -> Response[dict[str, Any]]:
    # Powertools' own 422 hides the messages; ours names each field in words but never echoes an input value.
    errors = field_errors(error.errors(), RuleRequest) or [{"field": "body", "message": "is not valid"}]
    return _json(
        HTTPStatus.UNPROCESSABLE_ENTITY, {"message": f"{errors[0]['field']}: {errors[0]['message']}", "errors": errors}
    )


@app.exception_handler(NotFound)
@app.exception_handler(UnknownRule)
def _not_found(error: ex.InvalidRequest) -> Response[dict[str, Any]]:
    return _json(HTTPStatus.NOT_FOUND, {"message": error.message, "errors": error.errors})


@app.exception_handler(ex.InvalidRequest)
def _invalid_request(error: ex.InvalidRequest) -> Response[dict[str, Any]]:
    return _error(HTTPStatus.UNPROCESSABLE_ENTITY, error)


@app.exception_handler(PrefixBusy)
def _busy(error: PrefixBusy) -> Response[dict[str, Any]]:
    return _json(HTTPStatus.CONFLICT, {"message": error.message, "rolloutId": error.rollout_id, "errors": error.errors})


@app.exception_handler(ex.PullthroughError)
def _service_failure(error: ex.PullthroughError) -> Response[dict[str, Any]]:
    logger.exception("request failed")
    status = HTTPStatus.SERVICE_UNAVAILABLE if error.transient else HTTPStatus.BAD_GATEWAY
    return _json(status, {"message": f"{type(error).__name__}: {error.message}", "errors": []})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = routable(event)
    refused = refusal(request, app)
    response = refused if refused is not None else app.resolve(request, context)
    api_response(event, response)  # 4xx by route
    return response
