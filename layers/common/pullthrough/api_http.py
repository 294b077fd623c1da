"""The API's HTTP edge: API Gateway events made uniform before routing, hostile bodies refused before parsing, and
a resolver whose OpenAPI document lists only the responses the API really gives.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from http import HTTPStatus
from itertools import accumulate
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.api_gateway import Route
from pydantic_core import PydanticCustomError

MAX_BODY_BYTES = 256 * 1024  # the largest valid request (policies, a 60,000-character token) is far smaller
MAX_JSON_DEPTH = 32  # a valid request nests 4 deep
RULES_PATH = "/rules/"
_NAME_LENGTH = 64  # an unknown parameter is named, but never at length
# Powertools documents a 422 of its own shape on every route, which this API never answers with.
_POWERTOOLS_ERRORS = ("HTTPValidationError", "ResponseValidationError")
_REF = "#/components/schemas/"


class DocumentedResolver(APIGatewayRestResolver):
    """Powertools' REST resolver; its OpenAPI document keeps only the responses the routes declare, and only the
    schemas those reach."""

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        spec = super().get_openapi_schema(**kwargs)
        document = spec.model_dump(by_alias=True, exclude_none=True, mode="json")
        for operations in document.get("paths", {}).values():
            for operation in operations.values():
                operation["responses"] = {
                    status: answer
                    for status, answer in sorted(operation["responses"].items())
                    if not any(name in json.dumps(answer) for name in _POWERTOOLS_ERRORS)
                }
        schemas = document.get("components", {}).get("schemas", {})
        used = _referenced(document.get("paths", {}), schemas)
        document["components"]["schemas"] = {name: schema for name, schema in schemas.items() if name in used}
        return type(spec).model_validate(document)

    def route_of(self, method: str, path: str) -> Route | None:
        """The route the resolver would call for ``method`` and (routable) ``path``; None when none fits."""
        for route in self._static_routes + self._dynamic_routes:
            if route.method == method and route.rule.match(path):
                return route
        return None


def _referenced(root: Any, schemas: dict[str, Any]) -> set[str]:
    """The component schemas ``root`` refers to, directly or through other schemas."""
    found: set[str] = set()
    pending = [root]
    while pending:
        text = json.dumps(pending.pop())
        for name in re.findall(re.escape(_REF) + r'([^"]+)"', text):
            if name not in found:
                found.add(name)
                pending.append(schemas.get(name, {}))
    return found


def refusal(event: dict[str, Any], resolver: DocumentedResolver) -> dict[str, Any] | None:
    """A proxy response refusing what no route can take as written (unknown query parameters, a header spelt like
    one of ours, a body too large, too deep, not UTF-8 or not JSON); None for a request the resolver may route.
    ``event`` is routable."""
    routed = _documented_route(event, resolver)
    if routed is not None:
        refused = unknown_query(event, *routed) or lookalike_headers(event, *routed)
        if refused is not None:
            return refused
    return hostile_body(event.get("body"), bool(event.get("isBase64Encoded")))


def _documented_route(event: dict[str, Any], resolver: DocumentedResolver) -> tuple[Route, str] | None:
    """The documented route the event goes to and how the API's document names it (``DELETE /rules/{prefix}``);
    None for no route, or one outside the document (Swagger UI's own, which reads ``?format=``)."""
    method = str(event.get("httpMethod") or "").upper()
    route = resolver.route_of(method, str(event.get("path") or ""))
    if route is None or not route.include_in_schema:
        return None
    return route, f"{method} " + re.sub(r"<(\w+)>", r"{\1}", route.path)


def _squashed(name: str) -> str:
    """A header name without case, separators or an ``x-`` prefix: ``X-Idempotency_Key`` -> ``idempotencykey``."""
    return re.sub(r"[^a-z0-9]", "", name.lower().removeprefix("x-"))


def lookalike_headers(event: dict[str, Any], route: Route, where: str) -> dict[str, Any] | None:
    """A 400 naming a header spelt like one of the route's own but not it (``X-Idempotency-Key``): ignored, it
    would silently turn off what the caller asked for."""
    own = {_squashed(param.alias): param.alias for param in route.dependant.header_params}
    for name in event.get("headers") or {}:
        meant = own.get(_squashed(name))
        if meant is not None and name != meant:
            spelt = "-".join(part.capitalize() for part in meant.split("-"))
            return _refusal(HTTPStatus.BAD_REQUEST, f"is not a header of {where}: did you mean {spelt}?", [name])
    return None


def unknown_query(event: dict[str, Any], route: Route, where: str) -> dict[str, Any] | None:
    """A 400 naming each query parameter the route does not take: a misspelt ``dryrun`` must not act for real."""
    given = {**(event.get("multiValueQueryStringParameters") or {}), **(event.get("queryStringParameters") or {})}
    takes = [param.alias for param in route.dependant.query_params]
    known = f"it takes: {', '.join(takes)}" if takes else "it takes none"
    unknown = [name[:_NAME_LENGTH] for name in given if name not in takes]
    message = f"is not a query parameter of {where} ({known})"
    return _refusal(HTTPStatus.BAD_REQUEST, message, unknown) if unknown else None


def hostile_body(body: str | None, base64_encoded: bool) -> dict[str, Any] | None:
    """A proxy response refusing a body too large or too deeply nested to parse safely, or one that is not UTF-8
    text or not JSON; None for any other body.

    Python's JSON parser recurses once per level: JSON nested thousands deep raises RecursionError (a 500).
    """
    if not body:
        return None
    try:
        text = base64.b64decode(body).decode() if base64_encoded else body
    except (UnicodeDecodeError, binascii.Error):
        return _refusal(HTTPStatus.BAD_REQUEST, "is not UTF-8 text: send JSON encoded in UTF-8")
    if len(text.encode()) > MAX_BODY_BYTES:
        return _refusal(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"is larger than {MAX_BODY_BYTES // 1024} KB")
    if json_depth(text) > MAX_JSON_DEPTH:
        return _refusal(HTTPStatus.UNPROCESSABLE_ENTITY, f"nests JSON deeper than {MAX_JSON_DEPTH} levels")
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        # The parser's own words ("Expecting value") never quote the input.
        where = f"line {exc.lineno}, column {exc.colno}"
        return _refusal(HTTPStatus.BAD_REQUEST, f"is not valid JSON at {where}: {exc.msg}; send one JSON object")
    return None


# A JSON string, or an unterminated one up to the end: it never fails to match, so scanning stays linear.
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*+"?', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]")


def json_depth(text: str) -> int:
    """How deep the JSON text's arrays and objects nest (brackets inside strings do not count); no recursion."""
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))
    return max(accumulate(1 if b in "[{" else -1 for b in brackets), default=0)


def _refusal(status: HTTPStatus, message: str, fields: list[str] | None = None) -> dict[str, Any]:
    errors = [{"field": field, "message": message} for field in fields or ["body"]]
    body = {"message": f"{errors[0]['field']}: {message}", "errors": errors}
    return {
        "statusCode": int(status),
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def routable(event: dict[str, Any]) -> dict[str, Any]:
    """The event as the resolver routes it: lowercase header names, a JSON Content-Type, the prefix one segment."""
    return one_segment_prefix(as_json_request(event))


def one_segment_prefix(event: dict[str, Any]) -> dict[str, Any]:
    """``/rules/team/quay`` as ``/rules/team%2Fquay``: API Gateway's greedy ``{prefix+}`` hands the function a raw
    ``/`` in the prefix, and the resolver's ``<prefix>`` matches one path segment."""
    path = event.get("path") or ""
    if not path.startswith(RULES_PATH) or "/" not in path[len(RULES_PATH) :]:
        return event
    return event | {"path": RULES_PATH + path[len(RULES_PATH) :].replace("/", "%2F")}


def as_json_request(event: dict[str, Any]) -> dict[str, Any]:
    """The event with lowercase header names (HTTP's are case-insensitive; the resolver's header parameters are
    not) and a JSON Content-Type: every body this API takes is JSON, whatever the client sent (``curl -d`` says
    form data).

    Left alone, a form-encoded JSON body would be parsed into one field named by the whole body, credentials
    included, and a validation error would then name that field.
    """
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    multi: dict[str, list[str]] = {}
    for name, values in (event.get("multiValueHeaders") or {}).items():
        multi.setdefault(name.lower(), []).extend(values or [])
    for name, value in headers.items():
        multi.setdefault(name, [value])
    if event.get("body"):
        headers["content-type"], multi["content-type"] = "application/json", ["application/json"]
    return event | {"headers": headers, "multiValueHeaders": multi}


def true_or_false(value: Any) -> Any:
    """A query flag as written: ``true`` or ``false``, never ``1``, ``yes`` or ``True``."""
    if isinstance(value, str) and value not in ("true", "false"):
        raise PydanticCustomError("bool_parsing", "must be true or false")
    return value
