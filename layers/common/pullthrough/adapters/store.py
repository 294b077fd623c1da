"""DynamoDB adapter: desired rules, rollouts with per-region status, and the one-rollout-per-prefix lock.

Single table, keys ``pk``/``sk``:
- ``RULES`` / ``<prefix>``: the desired rule (no credential value: the source secret is kept by ARN), with where it
  is deployed in the home account (``deployed``) and which other accounts hold it (``deployedAccounts``);
- ``DEPLOYED#<prefix>`` / ``<account>``: where the prefix is held in another account (``regions``), one item per
  account so that an Organization's thousands of targets never meet DynamoDB's 400 KB item limit;
- ``ROLLOUT#<id>`` / ``ROLLOUT``: a rollout and its ``regions`` map (the state machine writes each region's entry);
  a rollout across accounts keeps one ``ROLLOUT#<id>`` / ``ACCOUNT#<account>`` item per account instead (its
  ``targets``, ``regions`` entries and ``rollback`` outcomes), and ``REGION#...`` items hold per-target snapshots;
- ``LOCK#<prefix>`` / ``LOCK``: the running rollout of a prefix (released by FinishRollout, or taken over once its
  execution has ended);
- ``IDEMPOTENCY#<key>`` / ``IDEMPOTENCY``: the rollout a request started, for a window (``expiresAt``, the TTL).

A rollout's items expire ``retention_days`` after it finishes (``expiresAt``, the table's TTL attribute): the
``ROLLOUT`` item from its final status, its account and snapshot items from when they are written (a rollout runs
minutes to hours, the retention is a week at least). ``RULES`` and ``DEPLOYED#`` items never expire.
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from pullthrough import aws
from pullthrough import exceptions as ex
from pullthrough.adapters.errors import translated
from pullthrough.desired import deployed_regions

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

DEFAULT_RETENTION_DAYS = 90  # template.yaml's RolloutRetentionDays default
MAX_CONCURRENT_READS = 10  # within botocore's default connection pool, whoever made the client
_ERRORS: dict[str, type[ex.PullthroughError]] = {"ResourceNotFoundException": ex.AwsRequestRejected}
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def store_from_env(region: str) -> RolloutStore:
    """The deployment's table (TABLE_NAME), its rollouts kept ROLLOUT_RETENTION_DAYS after they finish."""
    days = int(os.environ.get("ROLLOUT_RETENTION_DAYS") or DEFAULT_RETENTION_DAYS)
    return RolloutStore(aws.client("dynamodb", region), os.environ["TABLE_NAME"], retention_days=days)


class PrefixBusy(ex.PullthroughError):
    """Another rollout holds the prefix's lock; ``rollout_id`` names it, ``since`` is when it took the lock, and
    ``request`` the (idempotency key, body hash) of the request that took it, if it had a key."""

    def __init__(
        self, prefix: str, rollout_id: str, since: float | None = None, request: tuple[str, str] | None = None
    ) -> None:
        super().__init__(f"a rollout for {prefix!r} is already running: {rollout_id}", field="ecrRepositoryPrefix")
        self.rollout_id = rollout_id
        self.since = since  # epoch seconds; None for a lock written before locks recorded it
        self.request = request


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
    response = getattr(error.__cause__, "response", None) or {}  # a botocore timeout has response None
    return response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class RolloutStore:
    """The app's table."""

    def __init__(self, client: DynamoDBClient, table: str, *, retention_days: int = DEFAULT_RETENTION_DAYS) -> None:
        self._ddb = client
        self._table = table
        self._retention_seconds = retention_days * 86400

    def _expires_at(self) -> int:
        """When a rollout item written (or finished) now expires: epoch seconds, DynamoDB's TTL format."""
        return int(time.time()) + self._retention_seconds

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
    def acquire_lock(
        self, prefix: str, rollout_id: str, *, now: float | None = None, request: tuple[str, str] | None = None
    ) -> None:
        """Take the prefix's lock, or raise PrefixBusy naming the holder.

        ``request``: the (idempotency key, body hash) the rollout is started for, written in the same conditional
        put as the lock, so an identical request arriving at the same moment finds which request holds the prefix
        (PrefixBusy.request) and can join its rollout: taking the lock and deduplicating are one atomic step.
        The lock has no expiry of its own: a rollout may run for hours. Whether a holder is stale is judged from
        its execution's status (see Rollouts), never from the clock alone.
        """
        now = time.time() if now is None else now
        lock = {"pk": f"LOCK#{prefix}", "sk": "LOCK", "rolloutId": rollout_id, "acquiredAt": int(now)}
        if request is not None:
            lock["requestKey"], lock["bodyHash"] = request
        try:
            self._put(lock, ConditionExpression="attribute_not_exists(pk)")
        except ex.PullthroughError as error:
            if not _is_conditional_failure(error):
                raise
            holder = self._get(f"LOCK#{prefix}", "LOCK")
            if holder is None:
                raise PrefixBusy(prefix, "unknown") from None
            held_for = (str(holder["requestKey"]), str(holder["bodyHash"])) if "requestKey" in holder else None
            raise PrefixBusy(prefix, holder["rolloutId"], since=holder.get("acquiredAt"), request=held_for) from None

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
        """The rollout's final status: from now on it expires after the retention."""
        self._set(f"ROLLOUT#{rollout_id}", "ROLLOUT", {"status": status, "expiresAt": self._expires_at(), **fields})

    # Per-target snapshots (taken before a rollout's first write in the target)
    def put_snapshot(self, rollout_id: str, region: str, snapshot: str, account: str | None = None) -> bool:
        """Record a target's snapshot unless one is already recorded (a retried step keeps the first); True if new.

        ``account``: the target account, None for the home account (whose keys predate accounts)."""
        try:
            self._put(
                {
                    "pk": f"ROLLOUT#{rollout_id}",
                    "sk": _snapshot_key(region, account),
                    "snapshot": snapshot,
                    "expiresAt": self._expires_at(),
                },
                ConditionExpression="attribute_not_exists(sk)",
            )
        except ex.PullthroughError as error:
            if _is_conditional_failure(error):
                return False
            raise
        return True

    def holds(self, prefix: str, account: str | None, region: str) -> bool:
        """Whether pullthrough's record says it holds ``prefix`` in ``region`` of ``account`` (None: the home
        account), as the last finished rollouts left it."""
        if account is None:
            return region in deployed_regions(self._get("RULES", prefix))
        found = self._get(f"DEPLOYED#{prefix}", account)
        return region in ((found or {}).get("regions") or {})

    def get_snapshot(self, rollout_id: str, region: str, account: str | None = None) -> str | None:
        found = self._get(f"ROLLOUT#{rollout_id}", _snapshot_key(region, account))
        return str(found["snapshot"]) if found else None

    def _query(self, pk: str, sk_prefix: str | None = None) -> list[dict[str, Any]]:
        """Every item of partition ``pk`` (whose sort key starts with ``sk_prefix``), paginated."""
        condition = "pk = :pk" + (" AND begins_with(sk, :sk)" if sk_prefix else "")
        values = {":pk": {"S": pk}} | ({":sk": {"S": sk_prefix}} if sk_prefix else {})
        found: list[dict[str, Any]] = []
        with translated(_ERRORS, "Query"):
            pages = self._ddb.get_paginator("query").paginate(
                TableName=self._table,
                KeyConditionExpression=condition,
                ExpressionAttributeValues=values,
                ConsistentRead=True,
            )
            for page in pages:
                found.extend(_data(item) for item in page.get("Items", []))
        return found

    def items_from(self, pk: str, start: str, *, inclusive: bool, limit: int) -> tuple[list[dict[str, Any]], bool]:
        """Up to ``limit`` items of partition ``pk`` from sort key ``start`` on, in order, and whether none follow
        (one Query: a page of a listing reads only what it shows)."""
        with translated(_ERRORS, "Query"):
            got = self._ddb.query(
                TableName=self._table,
                KeyConditionExpression="pk = :pk" + (f" AND sk {'>=' if inclusive else '>'} :sk" if start else ""),
                ExpressionAttributeValues={":pk": {"S": pk}} | ({":sk": {"S": start}} if start else {}),
                ConsistentRead=True,
                Limit=limit,
            )
        return [_data(item) for item in got.get("Items", [])], "LastEvaluatedKey" not in got

    def _write_batch(self, puts: list[dict[str, Any]], deletes: list[tuple[str, str]]) -> None:
        """Put and delete items 25 at a time (BatchWriteItem), resending what DynamoDB left unprocessed."""
        requests = [{"PutRequest": {"Item": _item(data)}} for data in puts] + [
            {"DeleteRequest": {"Key": _item({"pk": pk, "sk": sk})}} for pk, sk in deletes
        ]
        for start in range(0, len(requests), 25):
            pending: dict[str, Any] = {self._table: requests[start : start + 25]}
            for attempt in range(8):
                with translated(_ERRORS, "BatchWriteItem"):
                    pending = self._ddb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                if not pending:
                    break
                time.sleep(min(2.0, 0.05 * 2**attempt))
            if pending:
                raise ex.AwsTransientError("DynamoDB left items unprocessed after 8 attempts")

    # Desired rules
    def put_rule(self, prefix: str, desired: dict[str, Any]) -> None:
        """Write the rule item (where other accounts hold the prefix is kept by ``save_deployed``)."""
        self._put({"pk": "RULES", "sk": prefix, **{k: v for k, v in desired.items() if k != "deployedElsewhere"}})

    def get_rule(self, prefix: str, *, elsewhere: bool = True) -> dict[str, Any] | None:
        """The rule item, with ``deployedElsewhere`` ({account: {region: entry}}) read when other accounts hold it
        (unless not ``elsewhere``: the caller pages them with ``items_from``)."""
        found = self._get("RULES", prefix)
        return self._with_elsewhere(found) if found is not None and elsewhere else found

    def _with_elsewhere(self, rule: dict[str, Any]) -> dict[str, Any]:
        if rule.get("deployedAccounts"):
            rule["deployedElsewhere"] = {
                str(item["sk"]): item.get("regions") or {} for item in self._query(f"DEPLOYED#{rule['sk']}")
            }
        return rule

    def save_deployed(
        self,
        prefix: str,
        home: dict[str, dict[str, Any]],
        elsewhere: dict[str, dict[str, dict[str, Any]]],
        before: dict[str, dict[str, dict[str, Any]]],
        **fields: Any,
    ) -> None:
        """Record where the prefix is held: the home account's regions on the rule item, each other account's in
        its own item (only accounts whose entries changed from ``before`` are written; emptied ones deleted)."""
        puts = [
            {"pk": f"DEPLOYED#{prefix}", "sk": account, "regions": regions}
            for account, regions in elsewhere.items()
            if regions and before.get(account) != regions
        ]
        gone = [(f"DEPLOYED#{prefix}", account) for account in before if not elsewhere.get(account)]
        self._write_batch(puts, gone)
        held_elsewhere = sorted(account for account, regions in elsewhere.items() if regions)
        counted = {"targets": len(home) + sum(len(regions) for regions in elsewhere.values())}
        counted |= {"accounts": len(held_elsewhere) + (1 if home else 0)}
        counted |= {"regions": len(set(home).union(*elsewhere.values()))}
        self.update_rule(prefix, deployed=home, deployedAccounts=held_elsewhere, deployedCounts=counted, **fields)

    def update_rule(self, prefix: str, **fields: Any) -> None:
        """Set some fields of an existing desired rule (no-op when the rule is gone)."""
        try:
            self._set("RULES", prefix, fields, ConditionExpression="attribute_exists(pk)")
        except ex.PullthroughError as error:
            if not _is_conditional_failure(error):
                raise

    def delete_rule(self, prefix: str) -> None:
        found = self._get("RULES", prefix)
        if found and found.get("deployedAccounts"):
            self._write_batch([], [(f"DEPLOYED#{prefix}", account) for account in found["deployedAccounts"]])
        self._delete("RULES", prefix)

    def list_rules(self, *, elsewhere_counted: bool = False) -> list[dict[str, Any]]:
        """Every desired rule, by prefix (with ``deployedElsewhere`` where other accounts hold it). The rules held
        in other accounts have their accounts' items read at once: one Query's latency, not one per such rule.
        ``elsewhere_counted``: only those of rules recorded without ``deployedCounts`` (GET /rules counts)."""
        rules = self._query("RULES")
        elsewhere = [
            rule
            for rule in rules
            if rule.get("deployedAccounts") and not (elsewhere_counted and isinstance(rule.get("deployedCounts"), dict))
        ]
        if elsewhere:
            with ThreadPoolExecutor(max_workers=min(MAX_CONCURRENT_READS, len(elsewhere))) as pool:
                list(pool.map(self._with_elsewhere, elsewhere))
        return rules

    # Rollouts across accounts: one item per account
    def put_account_targets(self, rollout_id: str, accounts: dict[str, list[dict[str, str]]]) -> None:
        """Before the execution starts: each account's targets (read by its child execution), PENDING entries, and
        an empty map for rollback outcomes (the state machine SETs entries inside both maps)."""
        self._write_batch(
            [
                {
                    "pk": f"ROLLOUT#{rollout_id}",
                    "sk": f"ACCOUNT#{account}",
                    "targets": json.dumps(
                        [{"region": t["region"], "action": t["action"]} for t in goals], separators=(",", ":")
                    ),
                    "regions": {t["region"]: {"status": "PENDING", "action": t["action"]} for t in goals},
                    "rollback": {},
                    "expiresAt": self._expires_at(),
                }
                for account, goals in accounts.items()
            ],
            [],
        )

    def account_items(self, rollout_id: str) -> list[dict[str, Any]]:
        """Every account item of a rollout across accounts (``sk`` is ``ACCOUNT#<account>``)."""
        return self._query(f"ROLLOUT#{rollout_id}", "ACCOUNT#")
