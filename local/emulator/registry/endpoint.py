"""The emulator's ECR registry endpoint: the OCI distribution API ECR speaks, for the registry the Host names.

    GET /v2/                                   auth check
    GET|HEAD /v2/<name>/manifests/<tag|digest>
    GET|HEAD /v2/<name>/blobs/<digest>
    GET /v2/<name>/tags/list                   the repository's tags (ecr:ListImages)

Host ``<account>.dkr.ecr.<region>.amazonaws.com[:port]`` names the registry; a loopback Host (127.0.0.1, localhost,
[::1]) the home account and Region. Auth as ECR: without credentials, 401 with ``WWW-Authenticate: Basic
realm="https://<registry host>/",service="ecr.amazonaws.com"``; then Basic ``AWS:<password>`` (the decoded
GetAuthorizationToken value), or ``Bearer <authorizationToken>``; an unknown or expired token, or one issued for
another Region, is 401. Errors are OCI JSON. Blobs are served here (ECR redirects them to S3).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from . import oci, permissions, pull_through, tokens
from .pull_through import Registry, RegistryError, Resolve

_ECR_HOST = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?::\d+)?$")
_LOOPBACK = re.compile(r"^(?:127\.0\.0\.1|localhost|\[::1\])(?::\d+)?$")


class RegistryEndpoint:
    """The WSGI app; ``home``: (account, Region) a loopback Host names; ``resolve``: where an upstream kind is."""

    def __init__(self, home: tuple[str, str], resolve: Resolve) -> None:
        self.home = home
        self.resolve = resolve

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        try:
            answer = self._answer(request)
        except RegistryError as refused:
            answer = oci.error(refused.status, refused.code, refused.message, self._challenge(request, refused))
        return answer(environ, start_response)

    def registry(self, host: str) -> Registry | None:
        match = _ECR_HOST.match(host)
        if match:
            return Registry(match["account"], match["region"])
        return Registry(*self.home) if _LOOPBACK.match(host) else None

    def _challenge(self, request: Request, refused: RegistryError) -> list[tuple[str, str]]:
        if refused.status != 401:
            return []
        registry = self.registry(request.host)
        host = f"{registry.account}.dkr.ecr.{registry.region}.amazonaws.com" if registry else request.host
        return [("WWW-Authenticate", f'Basic realm="https://{host}/",service="ecr.amazonaws.com"')]

    def _answer(self, request: Request) -> Response:
        registry = self.registry(request.host)
        if registry is None:
            raise RegistryError(404, "NAME_UNKNOWN", f"{request.host} names no ECR registry")
        if request.method not in ("GET", "HEAD"):
            raise RegistryError(405, "UNSUPPORTED", f"{request.method} is not supported by this registry endpoint")
        who = self._puller(request, registry)
        if request.path in ("/v2", "/v2/"):
            return Response("{}", content_type="application/json")
        parts = oci.split_path(request.path)
        if parts is None:
            raise RegistryError(404, "NAME_UNKNOWN", f"{request.path} is not a registry API path")
        name, kind, reference = parts
        head = request.method == "HEAD"
        if kind == "tags":
            listing = {"name": name, "tags": pull_through.tags(registry, who, name)}
            return Response(json.dumps(listing), content_type="application/json")
        if kind == "blobs":
            return oci.blob_response(reference, pull_through.blob(registry, who, name, reference), head)
        return oci.manifest_response(pull_through.manifest(registry, who, name, reference, self.resolve), head)

    def _puller(self, request: Request, registry: Registry) -> permissions.Puller:
        password = _password(request.headers.get("Authorization") or "")
        if password is None:
            raise RegistryError(401, "UNAUTHORIZED", "Not Authorized")
        principal = tokens.principal(password)
        if principal is None or principal.region != registry.region:
            raise RegistryError(
                401, "UNAUTHORIZED", "Your authorization token has expired. Reauthenticate and try again."
            )
        return permissions.puller(principal)


def _password(header: str) -> str | None:
    """The token's password from ``Basic base64(AWS:<password>)`` or ``Bearer base64(AWS:<password>)``."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() not in ("basic", "bearer"):
        return None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return password if sep and user == "AWS" else None
