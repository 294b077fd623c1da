"""Snapshot and restore: what a region held for a prefix before a rollout touched it, and putting it back.

The snapshot is taken before any write and stored outside the state machine's state (one DynamoDB item per
rollout and region), so rollback restores the region exactly even when a step failed half-way or a retry hid
what an earlier attempt changed. It holds ARNs and version ids, never a secret value.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pullthrough.adapters.ecr import EcrRegistry
from pullthrough.adapters.secrets import AWS_MANAGED_KEY, OUR_TAG_KEYS, SecretDetails, SecretStore, managed
from pullthrough.secret_names import secret_name_for
from pullthrough.steps.rule import ensure_rule
from pullthrough.steps.template import ensure_template
from pullthrough.tasks import Record, RollbackResult


@dataclass(frozen=True, kw_only=True, slots=True)
class SecretSnapshot(Record):
    arn: str
    versionId: str
    scheduledForDeletion: bool = False
    # pullthrough's own tags on it (managed-by, pullthrough:prefix) as they were; None in snapshots taken before
    # tags were recorded (taken as pullthrough's, tags left alone on restore)
    tags: dict[str, str] | None = None
    kmsKeyId: str | None = None  # None: the AWS managed key

    @classmethod
    def of(cls, found: SecretDetails) -> SecretSnapshot:
        return cls(
            arn=found.version.arn,
            versionId=found.version.version_id,
            scheduledForDeletion=found.scheduled_for_deletion,
            tags={k: v for k, v in found.tags.items() if k in OUR_TAG_KEYS},
            kmsKeyId=found.kms_key_id,
        )

    @property
    def managed(self) -> bool:
        """Tagged ``managed-by: pullthrough`` (or recorded before tags were)."""
        return self.tags is None or managed(self.tags)

    @property
    def customer_key(self) -> bool:
        return self.kmsKeyId not in (None, "", AWS_MANAGED_KEY)


@dataclass(frozen=True, kw_only=True, slots=True)
class RegionSnapshot(Record):
    """A region's rule, creation template and secret (by version) for one prefix; None where there was none."""

    rule: dict[str, Any] | None = None
    template: dict[str, Any] | None = None
    secret: SecretSnapshot | None = None

    @classmethod
    def loads(cls, text: str) -> RegionSnapshot:
        """A snapshot as ``dumps`` stored it (this app wrote it: no checks beyond the JSON)."""
        data = json.loads(text)
        secret = data.get("secret")
        return cls(
            rule=data.get("rule"), template=data.get("template"), secret=SecretSnapshot(**secret) if secret else None
        )


def take_snapshot(prefix: str, ecr: EcrRegistry, secrets: SecretStore) -> RegionSnapshot:
    """Read (never write) what the region holds for ``prefix``.

    The three reads run at once: one round trip to the region instead of three, on every target's critical path
    (boto3 clients are thread-safe). A failed read raises once all three have ended.
    """
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="snapshot") as reads:
        secret_read = reads.submit(secrets.details, secret_name_for(prefix))
        rule_read = reads.submit(ecr.get_rule, prefix)
        template_read = reads.submit(ecr.get_template, prefix)
    found = secret_read.result()
    secret = None if found is None else SecretSnapshot.of(found)
    return RegionSnapshot(rule=rule_read.result(), template=template_read.result(), secret=secret)


def restore_snapshot(
    region: str, prefix: str, snapshot: RegionSnapshot, ecr: EcrRegistry, secrets: SecretStore
) -> RollbackResult:
    """Make the region hold exactly ``snapshot`` again, with the fewest writes. Safe to run again.

    Order: a secret that existed comes back first (a rule cannot be created without it), with pullthrough's tags as
    they were (a secret taken over with ``adopt`` loses them), then rule and template, and a secret that did not
    exist goes last (once no rule refers to it).
    """
    secret_action = "unchanged"
    wanted = snapshot.secret
    secret_settled = False
    if wanted is not None:
        found = secrets.details(wanted.arn)
        secret_settled = found is not None and (found.version.version_id, found.scheduled_for_deletion) == (
            wanted.versionId,
            wanted.scheduledForDeletion,
        )
        if not secret_settled:
            if secrets.restore(wanted.arn):
                secret_action = "created"
            if secrets.make_current(wanted.arn, wanted.versionId):
                secret_action = "updated"
        if found is not None and restore_tags(secrets, wanted, found.tags) and secret_action == "unchanged":
            secret_action = "updated"
    if snapshot.rule is not None:
        rule_action = ensure_rule(ecr, snapshot.rule).action
    else:
        rule_action = "deleted" if ecr.delete_rule(prefix) else "unchanged"
    if snapshot.template is not None:
        template_action = ensure_template(ecr, prefix, snapshot.template).action
    else:
        template_action = "deleted" if ecr.delete_template(prefix) else "unchanged"
    if wanted is None:
        if secrets.delete(secret_name_for(prefix)):
            secret_action = "deleted"
    elif wanted.scheduledForDeletion and not secret_settled:
        secrets.schedule_deletion(wanted.arn)
        secret_action = "deleted"
    return RollbackResult(region=region, template=template_action, rule=rule_action, secret=secret_action)  # type: ignore[arg-type]


def restore_tags(secrets: SecretStore, wanted: SecretSnapshot, now: dict[str, str]) -> bool:
    """Put pullthrough's tags on the secret back as the snapshot recorded them (its other tags are not ours to
    touch); False when they already are. Untagging goes last: an IAM condition on the tag may govern the rest."""
    if wanted.tags is None:
        return False
    before = wanted.tags
    retag = {k: v for k, v in before.items() if now.get(k) != v}
    untag = [k for k in OUR_TAG_KEYS if k in now and k not in before]
    if retag:
        secrets.tag(wanted.arn, retag)
    if untag:
        secrets.untag(wanted.arn, untag)
    return bool(retag or untag)
