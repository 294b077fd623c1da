"""ECR authorization tokens: what GetAuthorizationToken hands out, and the principal each maps back to.

ECR's token is base64 ``AWS:<password>``, valid 12 hours, for the caller's identity in the Region it was asked in.
moto's own GetAuthorizationToken returns a fixed ``<account>-auth-token`` password that names nobody; the extension
issues a random password per call instead and remembers whose it is (process-wide; moto's resets do not drop it,
but a pull checks the principal's policies as they are at pull time).
"""

from __future__ import annotations

import base64
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

TOKEN_HOURS = 12


@dataclass(frozen=True)
class Principal:
    """Who a token was issued to: the caller's ARN (an assumed role's session ARN, a user, or the account's root
    for credentials the emulator issued to nobody), its account, and the Region the token is for."""

    arn: str
    account: str
    region: str
    expires_at: datetime

    @property
    def is_root(self) -> bool:
        return self.arn.endswith(":root")


_lock = threading.Lock()
_issued: dict[str, Principal] = {}


def caller(access_key_id: str, account: str, partition: str = "aws") -> tuple[str, str]:
    """(ARN, account) of the emulator's credentials ``access_key_id``: an assumed role's session, an IAM user, else
    the root of ``account`` (moto accepts any dummy key as that account's)."""
    for sts_by_partition in list(sts_backends.values()):
        for backend in list(sts_by_partition.values()):
            assumed = backend.get_assumed_role_from_access_key(access_key_id)
            if assumed is not None:
                return str(assumed.arn), str(assumed.account_id)
    for owner, iam_by_partition in list(iam_backends.items()):
        iam = iam_by_partition.get(partition) if partition in iam_by_partition else None
        user = iam.get_user_from_access_key_id(access_key_id) if iam is not None else None
        if user is not None:
            return str(user.arn), str(owner)
    return f"arn:{partition}:iam::{account}:root", account


def issue(arn: str, account: str, region: str) -> tuple[str, datetime]:
    """A new token (base64 ``AWS:<password>``) for the principal, and when it expires."""
    password = secrets.token_urlsafe(32)
    expires_at = datetime.now(UTC) + timedelta(hours=TOKEN_HOURS)
    with _lock:
        _issued[password] = Principal(arn=arn, account=account, region=region, expires_at=expires_at)
    return base64.b64encode(f"AWS:{password}".encode()).decode(), expires_at


def principal(password: str) -> Principal | None:
    """The principal of a live token's password; None when unknown or expired."""
    with _lock:
        found = _issued.get(password)
    if found is None or found.expires_at <= datetime.now(UTC):
        return None
    return found
