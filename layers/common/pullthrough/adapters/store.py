"""DynamoDB adapter: desired rules, rollouts with per-region status, and the one-rollout-per-prefix lock.

Single table, keys ``pk``/``sk``:
- ``RULES`` / ``<prefix>``: the desired rule (no credential value: the source secret is kept by ARN);
- ``ROLLOUT#<id>`` / ``ROLLOUT``: a rollout and its ``regions`` map (the state machine writes each region's entry);
- ``LOCK#<prefix>`` / ``LOCK``: the running rollout of a prefix (released by FinishRollout, or taken over once its
  execution has ended);
- ``IDEMPOTENCY#<key>`` / ``IDEMPOTENCY``: the rollout a request started, for a window (``expiresAt``, the TTL).
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from pullthrough import exceptions as ex
from pullthrough.adapters.errors import translated

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_ERRORS: dict[str, type[ex.PullthroughError]] = {"ResourceNotFoundException": ex.AwsRequestRejected}
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class PrefixBusy(ex.PullthroughError):
    """Another rollout holds the prefix's lock; ``rollout_id`` names it, ``since`` is when it took the lock."""

    def __init__(self, prefix: str, rollout_id: str, since: float | None = None) -> None:
        super().__init__(f"a rollout for {prefix!r} is already running: {rollout_id}", field="ecrRepositoryPrefix")
        self.rollout_id = rollout_id
        self.since = since  # epoch seconds; None for a lock written before locks recorded it


def _plain(value: Any) -> Any:
    """DynamoDB's Decimals back to int/float, recursively."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _item(data: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in data.items() if v is not None}


def _data(item: dict[str, Any]) -> dict[str, Any]:
    return _plain({k: _deserializer.deserialize(v) for k, v in item.items()})


def _snapshot_key(region: str, account: str | None) -> str:
    return f"REGION#{region}" if account is None else f"REGION#{account}#{region}"


def _is_conditional_failure(error: ex.PullthroughError) -> bool:
    cause = error.__cause__
    return getattr(cause, "response", {}).get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class RolloutStore:
    """The app's table."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._ddb = client
        self._table = table

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        with translated(_ERRORS, "GetItem"):
            got = self._ddb.get_item(TableName=self._table, Key=_item({"pk": pk, "sk": sk}), ConsistentRead=True)
        return _data(got["Item"]) if "Item" in got else None

    def _put(self, data: dict[str, Any], **condition: Any) -> None:
        with translated(_ERRORS, "PutItem"):
            self._ddb.put_item(TableName=self._table, Item=_item(data), **condition)

    def _set(self, pk: str, sk: str, fields: dict[str, Any], **condition: Any) -> None:
        """SET the given attributes of one item."""
        names = {f"#f{i}": k for i, k in enumerate(fields)}
        values = {f":v{i}": _serializer.serialize(v) for i, v in enumerate(fields.values())}
        values.update(condition.pop("ExpressionAttributeValues", {}))
        with translated(_ERRORS, "UpdateItem"):
            self._ddb.update_item(
                TableName=self._table,
                Key=_item({"pk": pk, "sk": sk}),
                UpdateExpression="SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(fields))),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                **condition,
            )

    def _delete(self, pk: str, sk: str, **condition: Any) -> None:
        with translated(_ERRORS, "DeleteItem"):
            self._ddb.delete_item(TableName=self._table, Key=_item({"pk": pk, "sk": sk}), **condition)

    # The lock
    def acquire_lock(self, prefix: str, rollout_id: str, *, now: float | None = None) -> None:
        """Take the prefix's lock, or raise PrefixBusy naming the holder.

        The lock has no expiry of its own: a rollout may run for hours. Whether a holder is stale is judged from
        its execution's status (see Rollouts), never from the clock alone.
        """
        now = time.time() if now is None else now
        lock = {"pk": f"LOCK#{prefix}", "sk": "LOCK", "rolloutId": rollout_id, "acquiredAt": int(now)}
        try:
            self._put(lock, ConditionExpression="attribute_not_exists(pk)")
        except ex.PullthroughError as error:
            if not _is_conditional_failure(error):
                raise
            holder = self._get(f"LOCK#{prefix}", "LOCK")
            if holder is None:
                raise PrefixBusy(prefix, "unknown") from None
            raise PrefixBusy(prefix, holder["rolloutId"], since=holder.get("acquiredAt")) from None

    def lock_holder(self, prefix: str) -> str | None:
        held = self._get(f"LOCK#{prefix}", "LOCK")
        return str(held["rolloutId"]) if held else None

    def release_lock(self, prefix: str, rollout_id: str) -> bool:
        """Release the lock if ``rollout_id`` still holds it."""
        try:
            self._delete(
                f"LOCK#{prefix}",
                "LOCK",
                ConditionExpression="rolloutId = :id",
                ExpressionAttributeValues={":id": {"S": rollout_id}},
            )
        except ex.PullthroughError as error:
            if _is_conditional_failure(error):
                return False
            raise
        return True

    # Idempotency: request fingerprint -> the rollout it started, for a window
    def find_idempotent(self, key: str, *, now: float | None = None) -> tuple[str, str] | None:
        """The rollout a request key started within its window, and the hash of that request's body."""
        found = self._get(f"IDEMPOTENCY#{key}", "IDEMPOTENCY")
        now = time.time() if now is None else now
        if not found or found.get("expiresAt", 0) <= now:
            return None
        return str(found["rolloutId"]), str(found.get("bodyHash", ""))

    def remember_idempotent(self, key: str, rollout_id: str, body_hash: str, *, ttl_seconds: int) -> None:
        expires = int(time.time() + ttl_seconds)
        self._put(
            {
                "pk": f"IDEMPOTENCY#{key}",
                "sk": "IDEMPOTENCY",
                "rolloutId": rollout_id,
                "bodyHash": body_hash,
                "expiresAt": expires,
            }
        )

    # Rollouts
    def put_rollout(self, rollout: dict[str, Any]) -> None:
        self._put({"pk": f"ROLLOUT#{rollout['rolloutId']}", "sk": "ROLLOUT", **rollout})

    def get_rollout(self, rollout_id: str) -> dict[str, Any] | None:
        return self._get(f"ROLLOUT#{rollout_id}", "ROLLOUT")

    def failed_count(self, rollout_id: str) -> int:
        """How many regions of the rollout have failed so far (0 when the rollout or the count is not recorded)."""
        with translated(_ERRORS, "GetItem"):
            got = self._ddb.get_item(
                TableName=self._table,
                Key=_item({"pk": f"ROLLOUT#{rollout_id}", "sk": "ROLLOUT"}),
                ProjectionExpression="failedCount",
                ConsistentRead=True,
            )
        return int(_data(got.get("Item", {})).get("failedCount", 0))

    def set_rollout_status(self, rollout_id: str, status: str, **fields: Any) -> None:
        self._set(f"ROLLOUT#{rollout_id}", "ROLLOUT", {"status": status, **fields})

    # Per-target snapshots (taken before a rollout's first write in the target)
    def put_snapshot(self, rollout_id: str, region: str, snapshot: str, account: str | None = None) -> bool:
        """Record a target's snapshot unless one is already recorded (a retried step keeps the first); True if new.

        ``account``: the target account, None for the home account (whose keys predate accounts)."""
        try:
            self._put(
                {"pk": f"ROLLOUT#{rollout_id}", "sk": _snapshot_key(region, account), "snapshot": snapshot},
                ConditionExpression="attribute_not_exists(sk)",
            )
        except ex.PullthroughError as error:
            if _is_conditional_failure(error):
                return False
            raise
        return True

    def get_snapshot(self, rollout_id: str, region: str, account: str | None = None) -> str | None:
        found = self._get(f"ROLLOUT#{rollout_id}", _snapshot_key(region, account))
        return str(found["snapshot"]) if found else None

    # Desired rules
    def put_rule(self, prefix: str, desired: dict[str, Any]) -> None:
        self._put({"pk": "RULES", "sk": prefix, **desired})

    def get_rule(self, prefix: str) -> dict[str, Any] | None:
        return self._get("RULES", prefix)

    def update_rule(self, prefix: str, **fields: Any) -> None:
        """Set some fields of an existing desired rule (no-op when the rule is gone)."""
        try:
            self._set("RULES", prefix, fields, ConditionExpression="attribute_exists(pk)")
        except ex.PullthroughError as error:
            if not _is_conditional_failure(error):
                raise

    def delete_rule(self, prefix: str) -> None:
        self._delete("RULES", prefix)

    def list_rules(self) -> list[dict[str, Any]]:
        """Every desired rule, by prefix."""
        rules: list[dict[str, Any]] = []
        with translated(_ERRORS, "Query"):
            pages = self._ddb.get_paginator("query").paginate(
                TableName=self._table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": "RULES"}},
            )
            for page in pages:
                rules.extend(_data(item) for item in page.get("Items", []))
        return rules
