"""ECR's registry endpoint, for the smoke pull: one manifest read with plain HTTP, as a container client does it.

The endpoint is the one the region's GetAuthorizationToken answers for (``proxyEndpoint``:
``https://<account>.dkr.ecr.<region>.amazonaws.com``). Locally ``ECR_REGISTRY_ENDPOINT`` (set by the embedded stack,
absent on AWS) names where that endpoint is served; the Host header still names the registry. The token never
leaves this module: not in a log, a result or an exception (the answers quoted are the registry's own).
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pullthrough import exceptions as ex
from pullthrough.adapters.errors import translated

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient

ENDPOINT_ENV = "ECR_REGISTRY_ENDPOINT"
MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
TIMEOUT_SECONDS = 20  # below the function's timeout: a first pull fetches from the upstream
_ANSWER_MAX = 300  # characters of the registry's error answer kept in the failure message


@dataclass(frozen=True)
class Pulled:
    digest: str
    media_type: str


class RegistryEndpoint:
    """The account's registry in the client's region, read as a puller reads it."""

    def __init__(self, client: ECRClient, endpoint: str | None = None) -> None:
        self._ecr = client
        self._endpoint = endpoint if endpoint is not None else os.environ.get(ENDPOINT_ENV) or None

    def pull_manifest(self, repository: str, reference: str) -> Pulled:
        """GET the manifest of ``repository:reference`` through the registry (a pull-through first pull included).

        Raises SmokePullFailed with the registry's status and OCI error, AwsTransientError when it cannot be reached
        or answers 429/5xx.
        """
        with translated({}, "GetAuthorizationToken"):
            data = self._ecr.get_authorization_token()["authorizationData"][0]
        proxy = urlsplit(str(data["proxyEndpoint"]))
        base = (self._endpoint or f"{proxy.scheme}://{proxy.netloc}").rstrip("/")
        if not base.startswith(("https://", "http://")):
            raise ex.SmokePullFailed(f"the registry endpoint is not an http(s) URL: {ENDPOINT_ENV}")
        request = urllib.request.Request(  # noqa: S310 - http(s) checked
            f"{base}/v2/{repository}/manifests/{reference}",
            headers={
                "Accept": ", ".join(MANIFEST_TYPES),
                "Authorization": "Basic " + str(data["authorizationToken"]),
                "Host": proxy.netloc,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310 - http(s) checked
                body = answer.read()
                media_type = answer.headers.get("Content-Type", "")
                digest = answer.headers.get("Docker-Content-Digest") or ""
        except urllib.error.HTTPError as refused:
            message = f"{refused.code} {_oci_error(refused.read())}"
            if refused.code == 429 or refused.code >= 500:
                raise ex.AwsTransientError(f"pull of {repository}:{reference}: {message}") from None
            raise ex.SmokePullFailed(f"pull of {repository}:{reference}: {message}") from None
        except OSError as unreachable:  # URLError, timeouts, refused connections
            raise ex.AwsTransientError(
                f"pull of {repository}:{reference}: registry unreachable ({type(unreachable).__name__})"
            ) from None
        actual = "sha256:" + hashlib.sha256(body).hexdigest()
        if digest and digest != actual:
            raise ex.SmokePullFailed(f"pull of {repository}:{reference}: manifest digest {actual} is not {digest}")
        return Pulled(actual, media_type)


def _oci_error(body: bytes) -> str:
    """The registry's answer as ``CODE: message`` (OCI's error JSON), else its text, shortened."""
    try:
        errors = json.loads(body).get("errors") or []
        text = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors if isinstance(e, dict))
    except (ValueError, AttributeError):
        text = body.decode("utf-8", "replace")
    return text[:_ANSWER_MAX] or "no answer"
