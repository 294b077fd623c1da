"""The REST API: rule requests in, rollout status out. Errors are mapped to HTTP here, in one place."""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Annotated, Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths

from pullthrough import exceptions as ex
from pullthrough.adapters.store import PrefixBusy
from pullthrough.desired import rule_view
from pullthrough.metrics import api_response
from pullthrough.models import RuleRequest
from pullthrough.observability import logger
from pullthrough.prefixes import canonical_prefix
from pullthrough.rollouts import UnknownRule
from pullthrough.wiring import rollouts_from_env

app = APIGatewayRestResolver(enable_validation=True)
app.enable_swagger(
    path="/swagger",
    title="pullthrough",
    description="Roll ECR pull-through cache rules out to many regions, all or nothing.",
)


PREFIX_SHAPE = re.compile(r"[a-z0-9][a-z0-9._/-]{1,29}|ROOT")
ROLLOUT_ID_SHAPE = re.compile(r"r-[0-9a-f]{32}")


def _known_shape(value: str, shape: re.Pattern[str], what: str) -> str:
    """A path parameter that cannot name anything (wrong shape, too long for a key) is simply not found."""
    if not shape.fullmatch(value):
        raise NotFoundError(f"no {what} {value[:64]!r}")
    return value


def _dry_run() -> bool:
    """``?dryRun=true``: plan only (the same state machine with every write refused)."""
    value = (app.current_event.query_string_parameters or {}).get("dryRun", "false").lower()
    if value not in ("true", "false"):
        raise ex.InvalidRequest("must be true or false", field="dryRun")
    return value == "true"


def _rule_prefix(raw: str) -> str:
    """The prefix a path names, raw or percent-encoded; ``x/`` is the rule ``x``, as in ECR."""
    return canonical_prefix(_known_shape(unquote(raw), PREFIX_SHAPE, "rule"))


def _json(status: HTTPStatus, body: dict[str, Any]) -> Response[dict[str, Any]]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


@app.post("/rules", summary="Roll a pull-through cache rule out to regions")
def post_rule(request: Annotated[RuleRequest, Body(embed=False)]) -> Response[dict[str, Any]]:
    started = rollouts_from_env().start(
        request, idempotency_key=app.current_event.headers.get("idempotency-key"), plan=_dry_run()
    )
    started["links"] = {"rollout": f"/rollouts/{started['rolloutId']}", "rule": f"/rules/{started['prefix']}"}
    return _json(HTTPStatus.ACCEPTED, started)


@app.get("/rules", summary="The desired rules")
def list_rules() -> dict[str, Any]:
    return {"rules": [rule_view(item) for item in rollouts_from_env().store.list_rules()]}


@app.get("/rules/<prefix>", summary="One desired rule and its last rollout")
def get_rule(prefix: str) -> dict[str, Any]:
    found = rollouts_from_env().store.get_rule(_rule_prefix(prefix))
    if found is None:
        raise NotFoundError(f"no rule for prefix {_rule_prefix(prefix)!r}")
    return rule_view(found)


@app.delete("/rules/<prefix>", summary="Remove a rule, its template and secret from every region, all or nothing")
def delete_rule(prefix: str) -> Response[dict[str, Any]]:
    started = rollouts_from_env().start_delete(_rule_prefix(prefix), plan=_dry_run())
    started["links"] = {"rollout": f"/rollouts/{started['rolloutId']}"}
    return _json(HTTPStatus.ACCEPTED, started)


@app.get("/rollouts/<rollout_id>", summary="A rollout's status, region by region")
def get_rollout(rollout_id: str) -> dict[str, Any]:
    found = rollouts_from_env().view(_known_shape(rollout_id, ROLLOUT_ID_SHAPE, "rollout"))
    if found is None:
        raise NotFoundError(f"no rollout {rollout_id!r}")
    return found


def _field_of(error: Any) -> str:
    """The dotted field of a validation error; under ``credentials`` only the known keys are named (a key the
    caller invented could itself be a secret)."""
    if error["type"] == "json_invalid":
        return "body"
    parts = [str(p)[:64] for p in error["loc"] if p != "body"]  # an invented key is named, but never at length
    if parts[:1] == ["credentials"] and parts[1:2] not in (["username"], ["accessToken"]):
        parts = parts[:1]
    return ".".join(parts) or "body"


@app.exception_handler(RequestValidationError)
def _invalid_body(error: RequestValidationError) -> Response[dict[str, Any]]:
    # Powertools' own 422 hides the messages; ours names each field but never echoes an input value.
    errors = [{"field": _field_of(e), "message": str(e.get("msg", e["type"]))} for e in error.errors()]
    first = errors[0] if errors else {"field": "body", "message": "invalid"}
    return _json(
        HTTPStatus.UNPROCESSABLE_ENTITY, {"message": f"{first['field']}: {first['message']}", "errors": errors}
    )


@app.exception_handler(UnknownRule)
def _unknown_rule(error: UnknownRule) -> Response[dict[str, Any]]:
    return _json(HTTPStatus.NOT_FOUND, {"message": error.message})


@app.exception_handler(ex.InvalidRequest)
def _invalid_request(error: ex.InvalidRequest) -> Response[dict[str, Any]]:
    return _json(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        {"message": f"{error.field}: {error.message}" if error.field else error.message, "errors": error.errors},
    )


@app.exception_handler(PrefixBusy)
def _busy(error: PrefixBusy) -> Response[dict[str, Any]]:
    return _json(HTTPStatus.CONFLICT, {"message": error.message, "rolloutId": error.rollout_id, "errors": error.errors})


@app.exception_handler(NotFoundError)
def _not_found(error: NotFoundError) -> Response[dict[str, Any]]:
    return _json(HTTPStatus.NOT_FOUND, {"message": str(error.msg) if hasattr(error, "msg") else "not found"})


@app.exception_handler(ex.PullthroughError)
def _service_failure(error: ex.PullthroughError) -> Response[dict[str, Any]]:
    logger.exception("request failed")
    status = HTTPStatus.SERVICE_UNAVAILABLE if error.transient else HTTPStatus.BAD_GATEWAY
    return _json(status, {"message": f"{type(error).__name__}: {error.message}"})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    response = app.resolve(as_json_request(event), context)
    api_response(event, response)  # 4xx by route
    return response


def as_json_request(event: dict[str, Any]) -> dict[str, Any]:
    """Every body this API takes is JSON, whatever Content-Type the client sent (``curl -d`` says form data).

    Left alone, a form-encoded JSON body would be parsed into one field named by the whole body, credentials
    included, and a validation error would then name that field.
    """
    if not event.get("body"):
        return event
    headers = {k: v for k, v in (event.get("headers") or {}).items() if k.lower() != "content-type"}
    multi = {k: v for k, v in (event.get("multiValueHeaders") or {}).items() if k.lower() != "content-type"}
    return event | {
        "headers": headers | {"content-type": "application/json"},
        "multiValueHeaders": multi | {"content-type": ["application/json"]},
    }
