"""Local upstream registries: one small OCI distribution registry per upstream kind ECR pulls through.

Each serves generated images (``oci.generate``: ``library/alpine:3.20``, ``library/alpine:latest``,
``library/busybox:1.36``) and checks credentials the way its real counterpart does:

- docker-hub, github-container-registry, gitlab-container-registry, azure-container-registry, chainguard: the bearer
  handshake, and only with credentials: ``/v2/`` answers 401 with ``WWW-Authenticate: Bearer realm=<token URL>,
  service=...,scope=...``; the token URL takes the credentials as Basic auth and answers 401 for any pair it does not
  accept (the pairs the samples in events/ use, ``SAMPLE_CREDENTIALS``) or has revoked.
- quay, ecr-public: the same handshake, anonymous tokens (credentials, when sent, must still be valid).
- k8s: no authentication (registry.k8s.io).

Faults (``UpstreamFaults``, process-wide like the ECR faults; also over the faults endpoint): revoke a credential
(its tokens stop working too), make an upstream slow (each answer waits) or unreachable (the pull path connects to a
closed port), and move a tag to a newly generated image.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

from . import oci
from .server import Server

#: The credential pairs the samples in events/ use (tests/unit/test_local_upstreams.py keeps them in step).
SAMPLE_CREDENTIALS: tuple[tuple[str, str], ...] = (("demo-user", "demo-placeholder-token"),)
SEEDED: tuple[tuple[str, str], ...] = (
    ("library/alpine", "3.20"),
    ("library/alpine", "latest"),
    ("library/busybox", "1.36"),
)
TOKEN_PATH = "/token"


@dataclass(frozen=True)
class Kind:
    """How one upstream registry authenticates: ``auth`` "bearer" or "none"; ``credentials``: whether a pull needs
    them (ECR's model: a Secrets Manager secret for exactly these upstreams)."""

    name: str
    auth: str
    credentials: bool
    service: str


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("docker-hub", "bearer", True, "registry.docker.io"),
        Kind("github-container-registry", "bearer", True, "ghcr.io"),
        Kind("gitlab-container-registry", "bearer", True, "container_registry"),
        Kind("azure-container-registry", "bearer", True, "azurecr.io"),
        Kind("chainguard", "bearer", True, "cgr.dev"),
        Kind("quay", "bearer", False, "quay.io"),
        Kind("ecr-public", "bearer", False, "public.ecr.aws"),
        Kind("k8s", "none", False, "registry.k8s.io"),
    )
}


class UpstreamFaults:
    """What the faults endpoint has done to the upstreams (thread-safe); ``clear()`` undoes all of it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.revoked: set[tuple[str, str]] = set()  # (kind, username)
        self.delay_ms: dict[str, float] = {}
        self.unreachable: set[str] = set()
        self._retag_hooks: list[Callable[[str, str, str], str]] = []
        self._clear_hooks: list[Callable[[], None]] = []

    def revoke(self, kind: str, username: str) -> None:
        with self._lock:
            self.revoked.add((_known(kind), username))

    def is_revoked(self, kind: str, username: str) -> bool:
        with self._lock:
            return (kind, username) in self.revoked

    def slow(self, kind: str, delay_ms: float) -> None:
        if isinstance(delay_ms, bool) or not isinstance(delay_ms, int | float) or delay_ms < 0:
            raise ValueError(f"delayMs must be a non-negative number, not {delay_ms!r}")
        with self._lock:
            self.delay_ms[_known(kind)] = float(delay_ms)

    def delay(self, kind: str) -> float:
        with self._lock:
            return self.delay_ms.get(kind, 0.0)

    def make_unreachable(self, kind: str) -> None:
        with self._lock:
            self.unreachable.add(_known(kind))

    def is_unreachable(self, kind: str) -> bool:
        with self._lock:
            return kind in self.unreachable

    def attach(self, retag: Callable[[str, str, str], str], reset: Callable[[], None]) -> None:
        """Serve ``retag`` for the running upstreams, and call ``reset`` on ``clear()``, until ``detach``."""
        with self._lock:
            self._retag_hooks.append(retag)
            self._clear_hooks.append(reset)

    def detach(self, retag: Callable[[str, str, str], str], reset: Callable[[], None]) -> None:
        with self._lock:
            if retag in self._retag_hooks:
                self._retag_hooks.remove(retag)
            if reset in self._clear_hooks:
                self._clear_hooks.remove(reset)

    def retag(self, kind: str, repository: str, tag: str) -> str:
        """Point ``repository:tag`` of upstream ``kind`` at a newly generated image; its index digest."""
        _known(kind)
        with self._lock:
            hooks = list(self._retag_hooks)
        if not hooks:
            raise ValueError("no local upstream registries are running")
        return hooks[-1](kind, repository, tag)

    def clear(self) -> None:
        with self._lock:
            self.revoked.clear()
            self.delay_ms.clear()
            self.unreachable.clear()
            hooks = list(self._clear_hooks)
        for hook in hooks:
            hook()

    def pending(self) -> dict[str, Any]:
        with self._lock:
            return {
                "revoked": [{"upstream": kind, "username": user} for kind, user in sorted(self.revoked)],
                "slow": [{"upstream": kind, "delayMs": ms} for kind, ms in sorted(self.delay_ms.items())],
                "unreachable": sorted(self.unreachable),
            }


def _known(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown upstream {kind!r} (one of {', '.join(KINDS)})")
    return kind


UPSTREAM_FAULTS = UpstreamFaults()


def _basic(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


class UpstreamRegistry:
    """One upstream kind's registry (a WSGI app): its images, credentials and tokens."""

    def __init__(self, kind: Kind, credentials: Iterable[tuple[str, str]], faults: UpstreamFaults) -> None:
        self.kind = kind
        self._accepted = dict(credentials)
        self._faults = faults
        self._lock = threading.Lock()
        self._tokens: dict[str, str | None] = {}  # bearer token -> the username it was issued to (None: anonymous)
        self._tags: dict[tuple[str, str], oci.Image] = {}
        self._manifests: dict[str, oci.Manifest] = {}
        self._blobs: dict[str, bytes] = {}
        self._generation: Counter[tuple[str, str]] = Counter()
        self.requests: Counter[str] = Counter()  # "manifests" / "blobs" / "token" / "ping" -> count
        self.base_url = ""
        self.seed()

    def seed(self) -> None:
        """(Back to) the seeded images."""
        with self._lock:
            self._tags.clear()
            self._generation.clear()
        for repository, tag in SEEDED:
            self.put(repository, tag)

    def put(self, repository: str, tag: str) -> str:
        """Generate a new image for ``repository:tag`` (each call a different one); its index digest."""
        with self._lock:
            generation = self._generation[(repository, tag)]
            self._generation[(repository, tag)] += 1
            image = oci.generate(f"{self.kind.name} {repository}:{tag} #{generation}")
            self._tags[(repository, tag)] = image
            self._manifests[image.index.digest] = image.index
            self._manifests.update(image.manifests)
            self._blobs.update(image.blobs)
        return image.index.digest

    def digest(self, repository: str, tag: str) -> str | None:
        with self._lock:
            image = self._tags.get((repository, tag))
        return image.index.digest if image else None

    # -- WSGI --------------------------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        delay = self._faults.delay(self.kind.name)
        if delay:
            time.sleep(delay / 1000)
        return self._answer(request)(environ, start_response)

    def _answer(self, request: Request) -> Response:
        if request.path == TOKEN_PATH and self.kind.auth == "bearer":
            return self._token(request)
        if not request.path.startswith("/v2/"):
            return oci.error(404, "NOT_FOUND", "not found")
        parts = oci.split_path(request.path)
        scope = f"repository:{parts[0]}:pull" if parts else ""
        if not self._authorized(request):
            return self._challenge(scope)
        if request.path == "/v2/":
            self._count("ping")
            return Response("{}", content_type="application/json")
        if parts is None or request.method not in ("GET", "HEAD"):
            return oci.error(404, "NOT_FOUND", "not found")
        name, what, reference = parts
        self._count(what)
        head = request.method == "HEAD"
        if what == "tags":
            with self._lock:
                tags = sorted(tag for repository, tag in self._tags if repository == name)
            if not tags:
                return oci.error(404, "NAME_UNKNOWN", f"repository name not known to registry: {name}")
            return Response(json.dumps({"name": name, "tags": tags}), content_type="application/json")
        if what == "blobs":
            with self._lock:
                data = self._blobs.get(reference)
            if data is None:
                return oci.error(404, "BLOB_UNKNOWN", f"blob unknown to registry: {reference}")
            return oci.blob_response(reference, data, head)
        with self._lock:
            image = self._tags.get((name, reference))
            manifest = image.index if image else self._manifests.get(reference)
            known_name = any(repository == name for repository, _ in self._tags)
        if not known_name:
            return oci.error(404, "NAME_UNKNOWN", f"repository name not known to registry: {name}")
        if manifest is None:
            return oci.error(404, "MANIFEST_UNKNOWN", f"manifest unknown: {name}:{reference}")
        return oci.manifest_response(manifest, head)

    def _count(self, what: str) -> None:
        with self._lock:
            self.requests[what] += 1

    def _authorized(self, request: Request) -> bool:
        if self.kind.auth == "none":
            return True
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        with self._lock:
            if token not in self._tokens:
                return False
            user = self._tokens[token]
        return user is None or not self._faults.is_revoked(self.kind.name, user)

    def _challenge(self, scope: str) -> Response:
        realm = f'Bearer realm="{self.base_url}{TOKEN_PATH}",service="{self.kind.service}"'
        if scope:
            realm += f',scope="{scope}"'
        return oci.error(401, "UNAUTHORIZED", "authentication required", headers=[("WWW-Authenticate", realm)])

    def _token(self, request: Request) -> Response:
        self._count("token")
        pair = _basic(request.headers.get("Authorization") or "")
        if pair is None and self.kind.credentials:
            return oci.error(401, "UNAUTHORIZED", "authentication required: this registry takes no anonymous pulls")
        if pair is not None:
            user, password = pair
            if self._accepted.get(user) != password or self._faults.is_revoked(self.kind.name, user):
                return oci.error(401, "UNAUTHORIZED", "incorrect username or password")
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = pair[0] if pair else None
        answer = {"token": token, "access_token": token, "expires_in": 300}
        return Response(json.dumps(answer), content_type="application/json")


class Upstreams:
    """Every kind's registry, each on a loopback port of its own; ``address(kind)`` is where the pull path connects
    (a closed port while the kind is unreachable)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        credentials: Iterable[tuple[str, str]] = SAMPLE_CREDENTIALS,
        faults: UpstreamFaults = UPSTREAM_FAULTS,
    ) -> None:
        pairs = list(credentials)
        self.faults = faults
        self.registries = {name: UpstreamRegistry(kind, pairs, faults) for name, kind in KINDS.items()}
        self._servers: dict[str, Server] = {}
        self._host = host
        self._closed_port = 0

    def start(self) -> Upstreams:
        try:
            for name, registry in self.registries.items():
                server = self._servers[name] = Server(registry, self._host, 0)
                registry.base_url = f"http://{server.address}"
            self._closed_port = _closed_port(self._host)
        except BaseException:
            self.stop()
            raise
        self.faults.attach(self.retag, self.reset)
        return self

    def stop(self) -> None:
        for server in self._servers.values():
            server.stop()
        self._servers.clear()
        self.faults.detach(self.retag, self.reset)

    def address(self, kind: str) -> str:
        """``host:port`` the pull path reaches upstream ``kind`` at."""
        if self.faults.is_unreachable(kind):
            return f"{self._host}:{self._closed_port}"
        return self._servers[kind].address

    def url(self, kind: str) -> str:
        """The upstream's own URL (unaffected by the unreachable fault), for a client that goes there directly."""
        return f"http://{self._servers[kind].address}"

    def retag(self, kind: str, repository: str, tag: str) -> str:
        return self.registries[kind].put(repository, tag)

    def reset(self) -> None:
        for registry in self.registries.values():
            registry.seed()


def _closed_port(host: str) -> int:
    """A loopback port nothing listens on (bound, then released)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
