"""The API's HTTP edge: API Gateway events made uniform before routing, hostile bodies refused before parsing, and
a resolver whose OpenAPI document lists only the responses the API really gives.
"""

from __future__ import annotations

import base64
import json
import re
from http import HTTPStatus
from itertools import accumulate
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

MAX_BODY_BYTES = 256 * 1024  # the largest valid request (policies, a 60,000-character token) is far smaller
MAX_JSON_DEPTH = 32  # a valid request nests 4 deep
RULES_PATH = "/rules/"
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


def hostile_body(body: str | None, base64_encoded: bool) -> dict[str, Any] | None:
    """A proxy response refusing a body too large or too deeply nested to parse safely; None for any other body.

    Python's JSON parser recurses once per level: JSON nested thousands deep raises RecursionError (a 500).
    """
    if not body:
        return None
    text = base64.b64decode(body).decode(errors="replace") if base64_encoded else body
    if len(text.encode()) > MAX_BODY_BYTES:
        return _refusal(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"is larger than {MAX_BODY_BYTES // 1024} KB")
    if json_depth(text) > MAX_JSON_DEPTH:
        return _refusal(HTTPStatus.UNPROCESSABLE_ENTITY, f"nests JSON deeper than {MAX_JSON_DEPTH} levels")
    return None


# A JSON string, or an unterminated one up to the end: it never fails to match, so scanning stays linear.
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*+"?', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]")


def json_depth(text: str) -> int:
    """How deep the JSON text's arrays and objects nest (brackets inside strings do not count); no recursion."""
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))
    return max(accumulate(1 if b in "[{" else -1 for b in brackets), default=0)


def _refusal(status: HTTPStatus, message: str) -> dict[str, Any]:
    body = {"message": f"body: {message}", "errors": [{"field": "body", "message": message}]}
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
