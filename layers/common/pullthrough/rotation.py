"""Rotation: a change to a rule's source secret in the home region starts that rule's rollout (trigger ``rotation``).

Secrets Manager reports the change through CloudTrail to the home account's default bus: "AWS API Call via
CloudTrail" for PutSecretValue and UpdateSecret, "AWS Service Event via CloudTrail" for RotationSucceeded. Only events
of the home account and region count (``changed_secret``); only the rules whose ``sourceSecretArn`` is the changed
secret are rolled out (``SourceRotation``).

Debounce, inside the function (no new state in the state machine): each event marks the rule with its own token, waits
``debounce_seconds``, and goes on only if no later event re-marked the rule meanwhile; so several changes in a row make
one rollout, and StoreSecret copies whatever version is current when it runs. A rule busy with another rollout is
waited for; then its recorded source version is compared with the current one, so a change that rollout already carried
starts nothing and one that came after it starts a follow-up. The idempotency key is the version: a version already
rolled out (or rolled back) in the last ten minutes is not started again by a repeated event.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pullthrough import exceptions as ex
from pullthrough.adapters.store import PrefixBusy
from pullthrough.drift.desired import Desired
from pullthrough.observability import logger
from pullthrough.rollouts.deps import Deps
from pullthrough.rollouts.start import start

SOURCE = "aws.secretsmanager"
EVENT_SOURCE = "secretsmanager.amazonaws.com"
API_CALL = "AWS API Call via CloudTrail"
SERVICE_EVENT = "AWS Service Event via CloudTrail"
CHANGES = {API_CALL: ("PutSecretValue", "UpdateSecret"), SERVICE_EVENT: ("RotationSucceeded",)}
MARK = "rotationPending"  # on the rule item: the token of the latest change event waiting out the debounce window
BUSY_POLL_SECONDS = 5.0
ARN_SUFFIX_LENGTH = 7  # Secrets Manager appends "-" and 6 characters to a secret's name in its ARN


def changed_secret(event: Any, home_account: str, home_region: str) -> str:
    """The secret (ARN or name) a Secrets Manager CloudTrail event of the home account and region changed.

    InvalidRequest naming the field for any other event: another source or change, another account or region (an
    event forwarded or forged from elsewhere is never acted on).
    """
    if not isinstance(event, dict) or not isinstance(event.get("detail"), dict):
        raise ex.InvalidRequest("must be an object", field="detail")
    detail = event["detail"]
    if event.get("source") != SOURCE or detail.get("eventSource") != EVENT_SOURCE:
        raise ex.InvalidRequest(f"must be {SOURCE}", field="source")
    names = CHANGES.get(str(event.get("detail-type")))
    if names is None:
        raise ex.InvalidRequest(f"must be one of {', '.join(CHANGES)}", field="detail-type")
    if detail.get("eventName") not in names:
        raise ex.InvalidRequest(f"must be one of {', '.join(names)}", field="detail.eventName")
    if detail.get("errorCode"):
        raise ex.InvalidRequest("the call failed: nothing changed", field="detail.errorCode")
    for where, value, home in (
        ("account", event.get("account"), home_account),
        ("detail.recipientAccountId", detail.get("recipientAccountId"), home_account),
        ("region", event.get("region"), home_region),
        ("detail.awsRegion", detail.get("awsRegion"), home_region),
    ):
        if value != home:
            raise ex.InvalidRequest(f"must be the home {where.rsplit('.', 1)[-1]} {home}", field=where)
    found = (
        (detail.get("additionalEventData") or {}).get("SecretId")
        or (detail.get("responseElements") or {}).get("arn")
        or (detail.get("requestParameters") or {}).get("secretId")
    )
    if not isinstance(found, str) or not found:
        raise ex.InvalidRequest("names no secret", field="detail.requestParameters.secretId")
    if found.startswith("arn:"):
        parts = found.split(":")
        if len(parts) < 7 or parts[3] != home_region or parts[4] != home_account:
            raise ex.InvalidRequest("must be a secret of the home account and region", field="secretId")
    return found


def names_secret(source_arn: str | None, secret_id: str) -> bool:
    """Whether ``secret_id`` (a full ARN, or a name) is the secret ``source_arn`` names."""
    if not source_arn:
        return False
    if secret_id.startswith("arn:"):
        return secret_id == source_arn
    name = source_arn.split(":", 6)[-1]
    return name[:-ARN_SUFFIX_LENGTH] == secret_id or name == secret_id


@dataclass
class SourceRotation:
    """Starts the rollout of each rule whose source secret changed, once per burst of changes."""

    deps: Deps
    debounce_seconds: float
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    poll_seconds: float = BUSY_POLL_SECONDS
    token: str = field(default_factory=lambda: uuid.uuid4().hex)

    def changed(self, secret_id: str, wait_until: float) -> list[dict[str, Any]]:
        """One outcome per rule using ``secret_id``: {prefix, action: started|absorbed|unchanged|deleted,
        rolloutId?}. ``wait_until``: the ``clock`` time past which a busy rule is not waited for any longer.

        Raises RotationDeferred when a rule stayed busy until then (Lambda retries the event, then its DLQ).
        """
        store = self.deps.store
        prefixes = [item["sk"] for item in store.list_rules() if names_secret(item.get("sourceSecretArn"), secret_id)]
        for prefix in prefixes:
            self._mark(prefix)
        if prefixes and self.debounce_seconds > 0:
            self.sleep(self.debounce_seconds)
        return [self._roll(prefix, wait_until) for prefix in prefixes]

    def _mark(self, prefix: str) -> None:
        try:
            self.deps.store.update_rule(prefix, **{MARK: self.token})
        except ex.PullthroughError:  # deleted meanwhile: _roll finds it gone
            logger.info("rule gone before its rotation was marked", extra={"prefix": prefix})

    def _roll(self, prefix: str, wait_until: float) -> dict[str, Any]:
        while True:
            item = self.deps.store.get_rule(prefix)
            if item is None:
                return {"prefix": prefix, "action": "deleted"}
            if item.get(MARK) not in (None, self.token):  # a later change is waiting its own window out
                return {"prefix": prefix, "action": "absorbed"}
            try:
                return self._start(prefix, item)
            except PrefixBusy as busy:
                if self.clock() + self.poll_seconds > wait_until:
                    raise ex.RotationDeferred(
                        f"rule {prefix!r} stayed busy with rollout {busy.rollout_id}", field="prefix"
                    ) from None
                self.sleep(self.poll_seconds)

    def _start(self, prefix: str, item: dict[str, Any]) -> dict[str, Any]:
        """Start the rule's rollout unless its targets already carry the source secret's current version."""
        desired = Desired.of(item, self.deps.home_account)
        secrets = self.deps.home_secrets
        assert desired.source_arn is not None and secrets is not None
        described = secrets.describe(desired.source_arn)
        if described is None or described[1]:
            return {"prefix": prefix, "action": "unchanged", "reason": "the source secret is gone"}
        version = described[0].version_id
        if version == desired.source_version:
            return {"prefix": prefix, "action": "unchanged"}
        started = start(self.deps, desired.repair_request(), idempotency_key=f"rotation:{prefix}:{version}")
        return {"prefix": prefix, "action": "started", "rolloutId": started["rolloutId"]}
