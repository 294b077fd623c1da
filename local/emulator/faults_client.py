"""Tiny urllib client for the fault API of a moto server running the extension (see faults_http)."""

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from .faults_http import CALLS_PATH, FAULTS_PATH

# moto's server routes by the SigV4 credential scope; this one names ECR. Nothing is signed.
_ROUTING_AUTHORIZATION = (
    "AWS4-HMAC-SHA256 Credential=pullthrough/20240101/us-east-1/ecr/aws4_request, SignedHeaders=host, Signature=0"
)


class FaultApiError(RuntimeError):
    """The fault API answered with an error status."""


def _request(endpoint_url: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    if urlsplit(endpoint_url).scheme not in ("http", "https"):
        raise ValueError(f"endpoint_url must be http(s), not {endpoint_url!r}")
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        endpoint_url.rstrip("/") + path,
        data=data,
        method=method,
        headers={"Content-Type": "application/json", "Authorization": _ROUTING_AUTHORIZATION},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - scheme checked above
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        raise FaultApiError(f"{method} {path} -> {error.code}: {error.read().decode(errors='replace')}") from None


def inject(
    endpoint_url: str,
    operation: str,
    error_code: str,
    message: str | None = None,
    *,
    region: str | None = None,
    prefix: str | None = None,
    times: int | None = 1,
    status: int | None = None,
) -> dict[str, Any]:
    """Make the next ``times`` matching calls of ``operation`` fail with ``error_code`` (None: until cleared)."""
    body = {
        "kind": "error",
        "operation": operation,
        "errorCode": error_code,
        "message": message,
        "region": region,
        "prefix": prefix,
        "times": times,
        "httpStatus": status,
    }
    return dict(_request(endpoint_url, "POST", FAULTS_PATH, body)["error"])


def fail_validation(
    endpoint_url: str, prefix: str, failure_text: str, *, region: str | None = None, times: int | None = None
) -> dict[str, Any]:
    """Make ValidatePullThroughCacheRule of rule ``prefix`` return isValid=false with ``failure_text``."""
    body = {"kind": "validation", "prefix": prefix, "failure": failure_text, "region": region, "times": times}
    return dict(_request(endpoint_url, "POST", FAULTS_PATH, body)["validationFailure"])


def upstream_fault(endpoint_url: str, upstream: str, action: str, **fields: Any) -> dict[str, Any]:
    """Fault a local upstream registry: ``action`` revoke (username=...), slow (delayMs=...), unreachable, or
    retag (repository=..., tag=...: the answer names the new digest)."""
    body = {"kind": "upstream", "upstream": upstream, "action": action, **fields}
    return dict(_request(endpoint_url, "POST", FAULTS_PATH, body))


def clear(endpoint_url: str) -> None:
    """Drop every armed fault."""
    _request(endpoint_url, "DELETE", FAULTS_PATH)


def pending(endpoint_url: str) -> dict[str, Any]:
    """The faults still armed."""
    return dict(_request(endpoint_url, "GET", FAULTS_PATH))


def calls(endpoint_url: str) -> dict[tuple[str, str], int]:
    """Calls per (region, operation) since the last reset."""
    listing = _request(endpoint_url, "GET", CALLS_PATH)["calls"]
    return {(item["region"], item["operation"]): int(item["count"]) for item in listing}


def reset_calls(endpoint_url: str) -> None:
    """Zero the call counters."""
    _request(endpoint_url, "DELETE", CALLS_PATH)
