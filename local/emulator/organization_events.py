"""Organizations' CloudTrail events on the emulator, delivered as AWS delivers them.

On AWS, CloudTrail hands Organizations' management events to EventBridge's default bus of the management account in
us-east-1: "AWS API Call via CloudTrail" MoveAccount, and "AWS Service Event via CloudTrail" CreateAccountResult
once an account is created. ``install()`` wraps moto's Organizations backend so each successful MoveAccount and
CreateAccount puts the same event there (moto's events backend, so rules on that bus apply, as org-events.yaml's
forwarding rule does on AWS). So ``aws organizations move-account`` against the emulator triggers pullthrough's
auto-deployment exactly as on AWS.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from moto.events.models import events_backends
from moto.organizations.models import OrganizationsBackend

SOURCE = "aws.organizations"
EVENT_SOURCE = "organizations.amazonaws.com"
API_CALL = "AWS API Call via CloudTrail"
SERVICE_EVENT = "AWS Service Event via CloudTrail"
CLOUDTRAIL_REGION = "us-east-1"  # Organizations is global: its events arrive in us-east-1

_originals: dict[str, Callable[..., Any]] = {}


def _common(management: str, event_name: str) -> dict[str, Any]:
    return {
        "eventVersion": "1.09",
        "eventTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": EVENT_SOURCE,
        "eventName": event_name,
        "awsRegion": CLOUDTRAIL_REGION,
        "eventID": str(uuid.uuid4()),
        "managementEvent": True,
        "recipientAccountId": management,
    }


def move_account_entry(management: str, account: str, source: str, destination: str) -> dict[str, Any]:
    """Organizations' MoveAccount as CloudTrail reports it, a put_events entry (no bus named)."""
    detail = _common(management, "MoveAccount") | {
        "userIdentity": {"type": "Root", "accountId": management},
        "requestParameters": {"accountId": account, "sourceParentId": source, "destinationParentId": destination},
        "responseElements": None,
        "eventType": "AwsApiCall",
    }
    return {"Source": SOURCE, "DetailType": API_CALL, "Detail": json.dumps(detail)}


def create_account_result_entry(management: str, account: str, name: str) -> dict[str, Any]:
    """Organizations' CreateAccountResult service event, a put_events entry (no bus named)."""
    detail = _common(management, "CreateAccountResult") | {
        "userIdentity": {"accountId": management, "invokedBy": EVENT_SOURCE},
        "eventType": "AwsServiceEvent",
        "serviceEventDetails": {
            "createAccountStatus": {"accountId": account, "accountName": name, "state": "SUCCEEDED"}
        },
    }
    return {"Source": SOURCE, "DetailType": SERVICE_EVENT, "Detail": json.dumps(detail)}


def _emit(backend: OrganizationsBackend, entry: dict[str, Any]) -> None:
    events_backends[backend.account_id][CLOUDTRAIL_REGION].put_events([entry])


def _move_account(self: OrganizationsBackend, **kwargs: Any) -> None:
    account = kwargs["AccountId"]
    _originals["move_account"](self, **kwargs)
    _emit(self, move_account_entry(self.account_id, account, kwargs["SourceParentId"], kwargs["DestinationParentId"]))


def _create_account(self: OrganizationsBackend, **kwargs: Any) -> dict[str, Any]:
    status: dict[str, Any] = _originals["create_account"](self, **kwargs)
    created = status.get("CreateAccountStatus") or {}
    if created.get("State") == "SUCCEEDED" and created.get("AccountId"):
        _emit(self, create_account_result_entry(self.account_id, created["AccountId"], kwargs.get("AccountName", "")))
    return status


def install() -> None:
    """Emit Organizations' events from moto's backend (idempotent)."""
    if _originals:
        return
    for name, wrapper in (("move_account", _move_account), ("create_account", _create_account)):
        _originals[name] = getattr(OrganizationsBackend, name)
        setattr(OrganizationsBackend, name, wrapper)


def uninstall() -> None:
    for name, original in _originals.items():
        setattr(OrganizationsBackend, name, original)
    _originals.clear()
