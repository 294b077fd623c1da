"""What ECR does to read an image from an upstream registry: the OCI distribution API with the bearer handshake.

The credential (from the rule's secret) goes only into the Authorization header of the token request; no message
this module raises names it.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from . import oci

TIMEOUT_SECONDS = 30.0
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


class UpstreamError(Exception):
    """The upstream refused or failed a request: its HTTP status (0: unreachable), OCI error code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass
class Fetched:
    """One image read from upstream: the manifest asked for, every manifest it names, every blob."""

    top: oci.Manifest
    manifests: list[oci.Manifest] = field(default_factory=list)
    blobs: dict[str, bytes] = field(default_factory=dict)


class UpstreamClient:
    """Reads from ``http://<address>`` (an upstream's registry API) as ``credentials`` (None: anonymously)."""

    def __init__(self, address: str, credentials: tuple[str, str] | None, upstream: str) -> None:
        self._base = f"http://{address}"
        self._credentials = credentials
        self._upstream = upstream
        self._token: str | None = None

    def fetch(self, repository: str, reference: str) -> Fetched:
        """The image ``repository:reference`` (tag or digest) with everything it names, digests checked."""
        top = self._manifest(repository, reference)
        fetched = Fetched(top=top)
        platform_manifests = [top]
        if top.is_index:
            platform_manifests = [self._manifest(repository, digest) for digest in top.children()]
            fetched.manifests.extend(platform_manifests)
        for manifest in platform_manifests:
            for digest in manifest.children():
                if digest not in fetched.blobs:
                    fetched.blobs[digest] = self._blob(repository, digest)
        return fetched

    def _manifest(self, repository: str, reference: str) -> oci.Manifest:
        data, media_type = self._get(
            f"/v2/{repository}/manifests/{reference}", repository, ", ".join(oci.MANIFEST_TYPES)
        )
        manifest = oci.Manifest(data, media_type.split(";")[0].strip())
        if oci.is_digest(reference) and manifest.digest != reference:
            raise UpstreamError(502, "DIGEST_INVALID", f"upstream manifest {reference} has digest {manifest.digest}")
        return manifest

    def _blob(self, repository: str, digest: str) -> bytes:
        data, _ = self._get(f"/v2/{repository}/blobs/{digest}", repository, "*/*")
        if oci.digest_of(data) != digest:
            raise UpstreamError(502, "DIGEST_INVALID", f"upstream blob {digest} does not match its digest")
        return data

    def _get(self, path: str, repository: str, accept: str) -> tuple[bytes, str]:
        for attempt in (1, 2):
            headers = {"Accept": accept}
            if self._token:
                headers["Authorization"] = f"Bearer {self._token}"
            try:
                with self._open(path, headers) as answer:
                    return answer.read(), str(answer.headers.get("Content-Type", ""))
            except urllib.error.HTTPError as refused:
                challenge = refused.headers.get("WWW-Authenticate", "")
                if refused.code == 401 and attempt == 1 and challenge.lower().startswith("bearer "):
                    self._token = self._bearer(challenge, repository)
                    continue
                raise _error(refused) from None
        raise AssertionError("unreachable")

    def _bearer(self, challenge: str, repository: str) -> str:
        params = dict(_CHALLENGE_PARAM.findall(challenge))
        query = {"service": params.get("service", ""), "scope": params.get("scope") or f"repository:{repository}:pull"}
        headers = {}
        if self._credentials is not None:
            pair = f"{self._credentials[0]}:{self._credentials[1]}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        realm = urllib.parse.urlsplit(params.get("realm", ""))
        # A token service elsewhere (another scheme, host or port: "http://host:port@elsewhere/" included): never
        # send the credential there.
        if realm[:2] != urllib.parse.urlsplit(self._base)[:2]:
            raise UpstreamError(502, "UNSUPPORTED", f"{self._upstream}: unexpected token realm")
        try:
            with self._open(realm.path + "?" + urllib.parse.urlencode(query), headers) as answer:
                body = json.loads(answer.read())
        except urllib.error.HTTPError as refused:
            raise _error(refused) from None
        except ValueError:
            raise UpstreamError(502, "UNKNOWN", f"{self._upstream}: the token service answered no JSON") from None
        token = body.get("token") or body.get("access_token")
        if not isinstance(token, str):
            raise UpstreamError(502, "UNKNOWN", f"{self._upstream}: the token service answered no token")
        return token

    def _open(self, path: str, headers: dict[str, str]) -> Any:
        request = urllib.request.Request(self._base + path, headers=headers)  # noqa: S310 - http to a loopback upstream
        try:
            return urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS)  # noqa: S310
        except urllib.error.HTTPError:
            raise
        except (urllib.error.URLError, OSError) as failure:
            reason = getattr(failure, "reason", failure)
            raise UpstreamError(0, "UNREACHABLE", f"{self._upstream} is unreachable ({reason})") from None


def _error(refused: urllib.error.HTTPError) -> UpstreamError:
    """The upstream's own OCI error (code and message), or its status alone."""
    try:
        first = json.loads(refused.read())["errors"][0]
        return UpstreamError(refused.code, str(first["code"]), str(first["message"]))
    except (ValueError, KeyError, IndexError, TypeError):
        return UpstreamError(refused.code, "UNKNOWN", f"HTTP {refused.code}")
