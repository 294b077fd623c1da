"""Credential expiry: when an upstream token stops working, known ahead of time.

A request may say when its credential expires (``credentials.expiresAt``, or ``credentialExpiresAt`` beside a
``credentialSecretArn``). pullthrough keeps it as a tag on the source secret (``EXPIRY_TAG``; never in the value) and on
the desired rule; the tag is the truth (whoever rotates the secret by hand updates it), which the sweep reads back.
The sweep emits ``DaysToCredentialExpiry`` per rule and ``Pull Through Cache Credential Expiring`` {prefix, expiresAt,
daysLeft} once a known expiry is within the warning threshold.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

EXPIRY_TAG = "pullthrough:credential-expires-at"
CREDENTIAL_EXPIRING = "Pull Through Cache Credential Expiring"
WARNING_DAYS = 14  # the template's CredentialExpiryWarningDays default


def normalised(value: str) -> str:
    """An ISO 8601 date or date-time as UTC ``YYYY-MM-DDTHH:MM:SSZ`` (a date alone: its midnight, UTC); ValueError
    for anything else."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError("must be an ISO 8601 date or date-time, like 2027-06-30T00:00:00Z") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def days_left(expires_at: str, now: datetime | None = None) -> int | None:
    """Whole days from ``now`` until ``expires_at`` (rounded up: 0 on the last day, negative once passed); None when
    it is not a date-time."""
    try:
        when = datetime.fromisoformat(normalised(expires_at).replace("Z", "+00:00"))
    except ValueError:
        return None
    return math.ceil((when - (now or datetime.now(UTC))).total_seconds() / 86400)


def requested_expiry(request: Any) -> tuple[bool, str | None]:
    """(whether the request says anything about its credential's expiry, the expiry): new inline credentials always
    do (a new token without expiresAt has no known expiry); a named secret only with credentialExpiresAt."""
    if request.credentials is not None:
        return True, request.credentials.expiresAt
    if request.credentialExpiresAt is not None:
        return True, request.credentialExpiresAt
    return False, None
