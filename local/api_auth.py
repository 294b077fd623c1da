"""The local API's IAM authorization, as API Gateway's AWS_IAM authorization does it for the deployed API.

An unsigned call passes (the local API listens on loopback only; `make local` always took unsigned calls). A call
that carries a SigV4 ``Authorization`` header is checked, and refused with 403 and API Gateway's message when:
- its access key is unknown to the emulator (IAM users' keys and STS session credentials of any account);
- its credential scope is not ``execute-api`` in the API's region, or its date is more than 15 minutes off;
- its signature is not the one the key's secret gives for this request;
- the caller's identity policies (inline and attached, a user's groups included, as moto collects them) do not
  allow ``execute-api:Invoke`` on ``arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/PATH``, or deny it.
PATH is the request path with ``%2F`` decoded, so ``/rules/team-a%2Fquay`` is authorized as
``rules/team-a/quay``: an encoded slash never slips past a policy written for the raw path.

Not checked (API Gateway would): resource policies on the API (the template sets none), permissions boundaries,
SCPs and RCPs, and condition keys moto's policy engine does not evaluate.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from botocore.auth import SigV4Auth
from moto.iam.access_control import CreateAccessKeyFailure, IAMRequestBase, create_access_key
from moto.sts.models import sts_backends

MAX_SKEW_SECONDS = 15 * 60
# moto's request checker reads these headers by their canonical names; HTTP clients send any case.
SECURITY_TOKEN = "X-Amz-Security-Token"
CANONICAL_HEADERS = {
    "authorization": "Authorization",
    "x-amz-date": "X-Amz-Date",
    SECURITY_TOKEN.lower(): SECURITY_TOKEN,
}
INVALID_TOKEN = "The security token included in the request is invalid."


class Refused(Exception):
    """The call is not authorized: API Gateway's 403 and message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Caller:
    """Who signed a call, as API Gateway puts it in ``requestContext.identity``."""

    arn: str
    account: str
    access_key: str


class _InvokeRequest(IAMRequestBase):
    """moto's SigV4 and identity-policy check, answering as API Gateway does."""

    def _raise_signature_does_not_match(self) -> None:
        raise Refused(
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
            "Access Key and signing method."
        )

    def _raise_access_denied(self) -> None:
        raise Refused(
            f"User: {self._access_key.arn} is not authorized to perform: execute-api:Invoke on resource: "
            f"{self._resource}"
        )

    def _raise_invalid_access_key(self, reason: str) -> None:
        raise Refused(INVALID_TOKEN)

    def _create_auth(self, credentials: Any) -> SigV4Auth:
        return SigV4Auth(credentials, "execute-api", self._region)

    def authorize(self, resource: str) -> Caller:
        self._resource = resource
        self.check_signature()
        self.check_action_permitted(resource)
        return Caller(arn=self._access_key.arn, account=self.account_id, access_key=self._access_key._access_key_id)


def _between(text: str, first: str, second: str) -> str:
    return text.partition(first)[2].partition(second)[0]


def _key_account(access_key_id: str, headers: dict[str, str], home_account: str, partition: str) -> str:
    """The account whose IAM or STS holds ``access_key_id`` (the home account first); Refused when none does."""
    accounts = [home_account, *(a for a in list(sts_backends) if a != home_account)]
    for account in accounts:
        try:
            create_access_key(account, partition, access_key_id, headers)
        except CreateAccessKeyFailure as failure:
            if failure.reason == "InvalidToken":
                raise Refused(INVALID_TOKEN) from None
            continue
        return account
    raise Refused(INVALID_TOKEN)


@dataclass(frozen=True)
class ApiAuthorizer:
    """Checks signed calls to one local API (``api_id``/``stage`` in ``region`` of ``account``)."""

    account: str
    region: str = "us-east-1"
    api_id: str = "local"
    stage: str = "v1"
    partition: str = "aws"

    def resource(self, method: str, raw_path: str) -> str:
        path = unquote(raw_path).lstrip("/")
        return (
            f"arn:{self.partition}:execute-api:{self.region}:{self.account}:{self.api_id}/{self.stage}/{method}/{path}"
        )

    def authorize(
        self, method: str, url_path: str, raw_path: str, headers: list[tuple[str, str]], body: bytes
    ) -> Caller | None:
        """The caller of a signed call (None for an unsigned one); Refused when the call may not pass.

        ``url_path``: the path and query as sent (what was signed); ``raw_path``: the route's path without the
        stage prefix (what the resource ARN names).
        """
        named = {CANONICAL_HEADERS.get(name.lower(), name): value for name, value in headers}
        authorization = named.get("Authorization", "")
        if not authorization:
            return None
        if not authorization.startswith("AWS4-HMAC-SHA256 ") or "X-Amz-Date" not in named:
            raise Refused(
                "Authorization header requires 'Credential', 'Signature', 'SignedHeaders' and an X-Amz-Date header."
            )
        scope = _between(authorization, "Credential=", ",").split("/")
        if len(scope) != 5 or scope[3] != "execute-api" or scope[2] != self.region:
            raise Refused(
                f"Credential should be scoped to a valid region and to the service 'execute-api' in {self.region}."
            )
        try:
            signed_at = datetime.strptime(named["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
        except ValueError:
            raise Refused("X-Amz-Date is not a date like 20261208T101500Z.") from None
        if abs(time.time() - signed_at) > MAX_SKEW_SECONDS:
            raise Refused("Signature expired: the request was signed more than 15 minutes away from now.")
        account = _key_account(scope[0], named, self.account, self.partition)
        check = _InvokeRequest(account, method, url_path, {}, body, named, "Invoke")
        return check.authorize(self.resource(method, raw_path))
