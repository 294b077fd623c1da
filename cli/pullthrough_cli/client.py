"""The rules API over HTTP: JSON in and out, SigV4-signed for a deployed API, unsigned for ``make local``."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from pullthrough_cli.endpoint import is_loopback, region_of
from pullthrough_cli.errors import ROLLOUT_DID_NOT_SUCCEED, USAGE, ApiError, CliError

if TYPE_CHECKING:  # botocore takes a second to import: loaded only to sign
    from botocore.credentials import ReadOnlyCredentials
    from botocore.session import Session

SERVICE = "execute-api"
RUNNING = "RUNNING"
TRANSIENT_STATUSES = (429, 500, 502, 503, 504)
POLL_ATTEMPTS = 5  # consecutive failed polls before --wait gives up (the rollout itself goes on)


@dataclass(frozen=True)
class Signer:
    """SigV4 for API Gateway: the caller's credentials (session token included) and the API's region."""

    credentials: ReadOnlyCredentials
    region: str

    @classmethod
    def for_url(cls, url: str, session: Session, region: str | None) -> Signer | None:
        """None for a loopback URL; otherwise a signer from botocore's credential chain (CliError if none)."""
        if is_loopback(url):
            return None
        from botocore.exceptions import BotoCoreError

        signing_region = region_of(url) or region or session.get_config_variable("region")
        if not signing_region:
            raise CliError(f"cannot tell the region of {url}: give --region", USAGE)
        try:
            credentials = session.get_credentials()
            frozen = credentials.get_frozen_credentials() if credentials is not None else None
        except BotoCoreError as error:  # e.g. an expired SSO session
            raise CliError(f"AWS credentials: {error}") from None
        if frozen is None:
            raise CliError(
                "no AWS credentials found to sign the request: set AWS_PROFILE (or --profile), run "
                "aws sso login, or export AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY[/AWS_SESSION_TOKEN]"
            )
        return cls(frozen, signing_region)

    def headers(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> dict[str, str]:
        """``headers`` plus Authorization, X-Amz-Date and, for temporary credentials, X-Amz-Security-Token."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        request = AWSRequest(method=method, url=url, data=body or b"", headers=headers)
        SigV4Auth(self.credentials, SERVICE, self.region).add_auth(request)
        return dict(request.headers.items())


def prepare(
    base_url: str,
    method: str,
    path: str,
    *,
    body: Any = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    signer: Signer | None = None,
) -> urllib.request.Request:
    """The HTTP request for ``method path`` under ``base_url`` (which may end in /v1/), signed when ``signer``."""
    url = base_url.rstrip("/") + path + (f"?{urlencode(query)}" if query else "")
    data = None if body is None else json.dumps(body).encode()
    sent = {"accept": "application/json", **({"content-type": "application/json"} if data else {}), **(headers or {})}
    if signer is not None:
        sent = signer.headers(method, url, data, sent)
    return urllib.request.Request(url, data=data, method=method, headers=sent)  # noqa: S310 - http(s) checked


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode(errors="replace")


class Api:
    """The rules API's routes; each raises ApiError for an error status and CliError when unreachable."""

    def __init__(self, base_url: str, signer: Signer | None = None, timeout: float = 30.0) -> None:
        self.base_url = base_url
        self.signer = signer
        self.timeout = timeout

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        request = prepare(self.base_url, method, path, body=body, query=query, headers=headers, signer=self.signer)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return _decode(response.read())
        except urllib.error.HTTPError as error:
            raise ApiError(error.code, _decode(error.read())) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            raise CliError(f"cannot reach {self.base_url}: {reason}") from None

    def apply(self, rule: Any, *, plan: bool = False, idempotency_key: str | None = None) -> dict[str, Any]:
        """POST /rules (``?dryRun=true`` for a plan): the started rollout."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return dict(self.call("POST", "/rules", rule, query={"dryRun": "true"} if plan else None, headers=headers))

    def delete(self, prefix: str, *, plan: bool = False) -> dict[str, Any]:
        """DELETE /rules/{prefix} (``?dryRun=true`` for a plan): the started rollout."""
        return dict(self.call("DELETE", rule_path(prefix), query={"dryRun": "true"} if plan else None))

    def rollout(self, rollout_id: str) -> dict[str, Any]:
        """GET /rollouts/{id}, every page of its targets."""
        return self.every_page(f"/rollouts/{quote(rollout_id, safe='')}", "targets")

    def rules(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/rules").get("rules", []))

    def rule(self, prefix: str) -> dict[str, Any]:
        """GET /rules/{prefix}, every page of its deployedTargets."""
        return self.every_page(rule_path(prefix), "deployedTargets")

    def every_page(self, path: str, listed: str) -> dict[str, Any]:
        """GET ``path`` and, while the answer has a nextToken, the pages after it: the first answer with the
        ``listed`` entries of every page (and no nextToken)."""
        answer = dict(self.call("GET", path))
        while token := answer.pop("nextToken", None):
            following = dict(self.call("GET", path, query={"nextToken": str(token)}))
            answer[listed] = list(answer.get(listed) or []) + list(following.get(listed) or [])
            answer["nextToken"] = following.get("nextToken")
        return answer

    def pull_test(self, prefix: str, image: str) -> dict[str, Any]:
        """POST /pull-tests: each target's digest or failure."""
        return dict(self.call("POST", "/pull-tests", {"prefix": prefix, "image": image}))


def rule_path(prefix: str) -> str:
    """/rules/{prefix} with the prefix percent-encoded, slashes too (``team/quay`` -> ``team%2Fquay``)."""
    return "/rules/" + quote(prefix.rstrip("/") or prefix, safe="")


def follow(
    api: Api,
    rollout_id: str,
    *,
    interval: float = 1.0,
    timeout: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[dict[str, Any]]:
    """Each view of the rollout until it ends (the last one yielded is final).

    A poll that fails for a transient reason is retried; CliError after POLL_ATTEMPTS failures in a row, or
    (exit code 1) when ``timeout`` seconds pass first. The rollout itself goes on either way.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    failures = 0
    while True:
        try:
            view = api.rollout(rollout_id)
            failures = 0
        except ApiError as error:
            if error.status not in TRANSIENT_STATUSES or failures + 1 >= POLL_ATTEMPTS:
                raise
            failures += 1
        except CliError:
            if failures + 1 >= POLL_ATTEMPTS:
                raise
            failures += 1
        else:
            yield view
            if view.get("status") != RUNNING:
                return
        if deadline is not None and time.monotonic() > deadline:
            raise CliError(
                f"rollout {rollout_id} still running after {timeout:g} s (it goes on: pullthrough status "
                f"{rollout_id} --wait)",
                ROLLOUT_DID_NOT_SUCCEED,
            )
        sleep(interval * (1 + failures))
