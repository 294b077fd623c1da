"""Secrets Manager's CloudTrail events on the emulator, delivered as AWS delivers them.

On AWS, CloudTrail hands every management event to EventBridge's default bus of the account and region of the call:
"AWS API Call via CloudTrail" for PutSecretValue, UpdateSecret and RotateSecret, and "AWS Service Event via
CloudTrail" RotationSucceeded once a rotation completed. ``install()`` wraps moto's Secrets Manager backend so each
successful call of those puts the same event on that default bus (moto's events backend, so its rules and the
``local.events_bridge`` Lambda delivery apply). Like CloudTrail, an event never carries the secret's value.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from moto.events.models import events_backends
from moto.secretsmanager.models import SecretsManagerBackend

SOURCE = "aws.secretsmanager"
EVENT_SOURCE = "secretsmanager.amazonaws.com"
API_CALL = "AWS API Call via CloudTrail"
SERVICE_EVENT = "AWS Service Event via CloudTrail"
HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"  # what CloudTrail logs for a secret value

_originals: dict[str, Callable[..., Any]] = {}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cloudtrail_detail(
    backend: SecretsManagerBackend, event_name: str, secret_id: str, arn: str, *, service_event: bool = False
) -> dict[str, Any]:
    """The ``detail`` CloudTrail gives EventBridge for ``event_name`` on the secret ``arn`` (no value)."""
    detail: dict[str, Any] = {
        "eventVersion": "1.08",
        "userIdentity": {"type": "AWSService", "invokedBy": EVENT_SOURCE}
        if service_event
        else {"type": "IAMUser", "accountId": backend.account_id},
        "eventTime": _now(),
        "eventSource": EVENT_SOURCE,
        "eventName": event_name,
        "awsRegion": backend.region_name,
        "requestID": str(uuid.uuid4()),
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsServiceEvent" if service_event else "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": backend.account_id,
        "eventCategory": "Management",
    }
    if service_event:
        detail |= {"requestParameters": None, "responseElements": None, "additionalEventData": {"SecretId": arn}}
    else:
        request: dict[str, Any] = {"secretId": secret_id}
        if event_name in ("PutSecretValue", "UpdateSecret"):
            request["secretString"] = HIDDEN
        detail |= {"requestParameters": request, "responseElements": {"arn": arn}}
    return detail


def emit(backend: SecretsManagerBackend, event_name: str, secret_id: str, *, service_event: bool = False) -> None:
    """Put the CloudTrail event of ``event_name`` on the default bus of ``backend``'s account and region."""
    arn = backend.secrets[secret_id].arn
    detail = cloudtrail_detail(backend, event_name, secret_id, arn, service_event=service_event)
    events_backends[backend.account_id][backend.region_name].put_events(
        [
            {
                "Source": SOURCE,
                "DetailType": SERVICE_EVENT if service_event else API_CALL,
                "Detail": json.dumps(detail),
                "Resources": [],
            }
        ]
    )


def _wrap(name: str, events: tuple[tuple[str, bool], ...]) -> Callable[..., Any]:
    original = _originals[name]

    def wrapped(self: SecretsManagerBackend, secret_id: str, *args: Any, **kwargs: Any) -> Any:
        result = original(self, secret_id, *args, **kwargs)
        for event_name, service_event in events:
            emit(self, event_name, secret_id, service_event=service_event)
        return result

    return wrapped


_EVENTS = {
    "put_secret_value": (("PutSecretValue", False),),
    "update_secret": (("UpdateSecret", False),),
    "rotate_secret": (("RotateSecret", False), ("RotationSucceeded", True)),
}


def install() -> None:
    """Patch moto's Secrets Manager backend to emit the events (idempotent)."""
    for name, events in _EVENTS.items():
        if name not in _originals:
            _originals[name] = getattr(SecretsManagerBackend, name)
            setattr(SecretsManagerBackend, name, _wrap(name, events))


def uninstall() -> None:
    """Give moto its own methods back."""
    for name in list(_originals):
        setattr(SecretsManagerBackend, name, _originals.pop(name))
