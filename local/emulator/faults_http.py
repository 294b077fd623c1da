"""HTTP face of the fault registry, served by moto next to the ECR API.

Registered in ``moto.ecr.urls.url_paths`` by ``install()``, so a moto server (or
``ThreadedMotoServer``) answers it. moto's server picks the service from the request's
SigV4 credential scope; ``route_unsigned()`` makes it pick ECR for these paths when a request carries
none (a plain curl), and no signature is checked. A bad request gets a 400 with a JSON ``message``.

    POST   /_pullthrough/faults  {"kind": "error", "operation", "errorCode", "message"?, "region"?,
                                  "prefix"?, "times"? (default 1, null = until cleared), "httpStatus"?}
    POST   /_pullthrough/faults  {"kind": "validation", "prefix", "failure", "region"?,
                                  "times"? (default null = until cleared)}
    POST   /_pullthrough/faults  {"kind": "upstream", "upstream": "<upstream registry, e.g. docker-hub>",
                                  "action": "revoke", "username"}          its credential (and tokens) -> 401
                                  "action": "slow", "delayMs"}             each of its answers waits
                                  "action": "unreachable"}                 the pull path gets no connection
                                  "action": "retag", "repository", "tag"}  the tag names a new image
    GET    /_pullthrough/faults  -> {"errors": [...], "validationFailures": [...], "upstreams": {...}}
    DELETE /_pullthrough/faults  -> clear every fault (upstreams back as seeded)
    GET    /_pullthrough/calls   -> {"calls": [{"region", "operation", "count"}, ...]}
    DELETE /_pullthrough/calls   -> zero the counters
"""

import json
from dataclasses import asdict
from typing import Any

from moto.core.common_types import TYPE_RESPONSE
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

from .faults import FAULTS
from .registry.upstream import UPSTREAM_FAULTS

FAULTS_PATH = "/_pullthrough/faults"
CALLS_PATH = "/_pullthrough/calls"
_OWN_PATHS = "/_pullthrough/"
# What the dispatcher reads to pick the service: an ECR credential scope (no signature is checked).
_ECR_SCOPE = "AWS4-HMAC-SHA256 Credential=pullthrough/20260101/us-east-1/ecr/aws4_request"


def route_unsigned() -> None:
    """Make moto's server send a request for these paths to ECR even without an ``Authorization`` header (moto
    would otherwise take it for S3, which answers a 500 in HTML). Idempotent."""
    infer = DomainDispatcherApplication.infer_service_region_host
    if getattr(infer, "routes_pullthrough", False):
        return

    def infer_service_region_host(self: DomainDispatcherApplication, environ: dict[str, Any], path: str) -> Any:
        if path.startswith(_OWN_PATHS) and not environ.get("HTTP_AUTHORIZATION"):
            environ = environ | {"HTTP_AUTHORIZATION": _ECR_SCOPE}
        return infer(self, environ, path)

    infer_service_region_host.routes_pullthrough = True  # type: ignore[attr-defined]
    DomainDispatcherApplication.infer_service_region_host = infer_service_region_host  # type: ignore[method-assign]


def _reply(status: int, payload: Any) -> TYPE_RESPONSE:
    return status, {"Content-Type": "application/json"}, json.dumps(payload)


def _body(request: Any) -> dict[str, Any]:
    try:
        body = json.loads(request.get_data() or b"{}")
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"the request body is not JSON ({error}): send one JSON object") from None
    if not isinstance(body, dict):
        raise ValueError("the request body must be a JSON object")
    return body


def _add_fault(body: dict[str, Any]) -> TYPE_RESPONSE:
    kind = body.get("kind", "error")
    if kind == "error":
        error = FAULTS.inject(
            body["operation"],
            body["errorCode"],
            body.get("message"),
            region=body.get("region"),
            prefix=body.get("prefix"),
            times=body.get("times", 1),
            status=body.get("httpStatus"),
        )
        return _reply(200, {"error": asdict(error)})
    if kind == "validation":
        failure = FAULTS.fail_validation(
            body["prefix"], body["failure"], region=body.get("region"), times=body.get("times")
        )
        return _reply(200, {"validationFailure": asdict(failure)})
    if kind == "upstream":
        return _upstream_fault(body)
    raise ValueError(f"unknown fault kind {kind!r} (expected 'error', 'validation' or 'upstream')")


def _upstream_fault(body: dict[str, Any]) -> TYPE_RESPONSE:
    upstream, action = body["upstream"], body["action"]
    if action == "revoke":
        UPSTREAM_FAULTS.revoke(upstream, str(body["username"]))
    elif action == "slow":
        UPSTREAM_FAULTS.slow(upstream, body["delayMs"])
    elif action == "unreachable":
        UPSTREAM_FAULTS.make_unreachable(upstream)
    elif action == "retag":
        digest = UPSTREAM_FAULTS.retag(upstream, str(body["repository"]), str(body["tag"]))
        return _reply(200, {"upstream": upstream, "digest": digest})
    else:
        raise ValueError(f"unknown upstream action {action!r} (expected revoke, slow, unreachable or retag)")
    return _reply(200, {"upstream": UPSTREAM_FAULTS.pending()})


def faults_endpoint(request: Any, full_url: str, headers: Any) -> TYPE_RESPONSE:
    """Handle /_pullthrough/faults."""
    try:
        if request.method == "POST":
            return _add_fault(_body(request))
        if request.method == "GET":
            return _reply(200, FAULTS.pending())
        if request.method == "DELETE":
            FAULTS.clear()
            return _reply(200, {})
    except KeyError as missing:
        return _reply(400, {"message": f"missing field {missing}"})
    except (ValueError, TypeError) as error:
        return _reply(400, {"message": str(error)})
    return _reply(405, {"message": f"{request.method} is not supported on {FAULTS_PATH}"})


def calls_endpoint(request: Any, full_url: str, headers: Any) -> TYPE_RESPONSE:
    """Handle /_pullthrough/calls."""
    if request.method == "GET":
        counts = [
            {"region": region, "operation": operation, "count": count}
            for (region, operation), count in sorted(FAULTS.calls().items())
        ]
        return _reply(200, {"calls": counts})
    if request.method == "DELETE":
        FAULTS.reset_calls()
        return _reply(200, {})
    return _reply(405, {"message": f"{request.method} is not supported on {CALLS_PATH}"})
