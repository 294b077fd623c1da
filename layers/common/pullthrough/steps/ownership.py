"""Ownership: pullthrough changes only what it manages, unless a request says ``"adopt": true``.

What pullthrough manages in a target (account, region) for a prefix:
- the secret ``ecr-pullthroughcache/<prefix>``: when it is tagged ``managed-by: pullthrough`` (pullthrough tags
  every secret it creates, and one it takes over with ``adopt``);
- the pull-through cache rule (ECR's rules take no tags): when its credentialArn names that managed secret, or when
  pullthrough's own record says it holds the target (the rule item's ``deployed`` regions for the home account, the
  account's ``DEPLOYED#<prefix>`` item for another: written when a rollout that wrote there has finished);
- the creation template, when it is applied for PULL_THROUGH_CACHE: when that record says pullthrough holds the
  target. A template that serves only other uses (REPLICATION, CREATE_ON_PUSH) is shared: ApplyTemplate adds
  PULL_THROUGH_CACHE and keeps them, and a rollback restores it exactly.
A target to remove (RemoveRule) keeps a secret that is not pullthrough's and a rule that reads it.
Anything else the target holds for the prefix fails the target with NotManaged before the first write (SnapshotRegion
judges the snapshot), so the rollout's usual all-or-nothing path applies. Known limits: a rule deleted by hand and
made again by hand where the record says pullthrough holds the target counts as pullthrough's; a secret or rule made
by hand between SnapshotRegion and the step that writes is not judged (the snapshot, and so the rollback, still
records it as absent).
"""

from __future__ import annotations

from collections.abc import Callable

from pullthrough import exceptions as ex
from pullthrough.steps.snapshot import RegionSnapshot
from pullthrough.steps.template import PULL_THROUGH_CACHE
from pullthrough.tasks import RegionTask

_ARN_SUFFIX = 7  # Secrets Manager's "-" and 6 characters at the end of a full secret ARN


def names_secret(arn: str | None, secret_arn: str) -> bool:
    """Whether a rule's credentialArn (full, or partial without the suffix) names the secret."""
    return bool(arn) and arn in (secret_arn, secret_arn[:-_ARN_SUFFIX])


def foreign_resources(task: RegionTask, snapshot: RegionSnapshot, holds: Callable[[], bool]) -> list[str]:
    """What the target held before the rollout that pullthrough does not manage and the rollout would change, each
    named (ARN, or prefix and upstream). ``holds``: whether pullthrough's record holds the target (read once, and
    only when needed)."""
    held: list[bool] = []

    def recorded() -> bool:
        if not held:
            held.append(holds())
        return held[0]

    foreign = []
    secret = snapshot.secret if task.rule.needs_secret else None
    ours = secret is not None and secret.managed
    if secret is not None and not ours:
        foreign.append(f"secret {secret.arn}")
    rule = snapshot.rule
    if rule is not None and not (ours and names_secret(rule.get("credentialArn"), secret.arn)) and not recorded():  # type: ignore[union-attr]
        upstream = rule.get("upstreamRegistryUrl") or rule.get("upstreamRegistry")
        foreign.append(f"pull-through cache rule {task.prefix} (upstream {upstream})")
    template = snapshot.template
    touches_template = task.creationTemplate is not None or task.dropTemplate
    if (
        touches_template
        and template is not None
        and PULL_THROUGH_CACHE in template.get("appliedFor", [])
        and not recorded()
    ):
        foreign.append(f"repository creation template {task.prefix}")
    return foreign


def check_ownership(task: RegionTask, snapshot: RegionSnapshot, holds: Callable[[], bool], account: str) -> None:
    """Refuse, before any write, a target whose resources pullthrough may not take (``account``: the target's, for
    the message).

    Raises SecretKeyUnsupported when the target's secret is under a customer-managed KMS key (``adopt`` or not: ECR
    could not read it), and NotManaged naming what pullthrough does not manage unless the task says ``adopt``.
    """
    where = f"account {account}, region {task.region}"
    secret = snapshot.secret
    if task.rule.needs_secret and secret is not None and secret.customer_key:
        raise ex.SecretKeyUnsupported(
            f"{where}: secret {secret.arn} is encrypted with the customer-managed KMS key {secret.kmsKeyId}; ECR's "
            "pull-through cache can read only secrets encrypted with the AWS managed key (aws/secretsmanager): "
            "re-encrypt it with that key, or delete it so that pullthrough creates its own"
        )
    if task.adopt:
        return
    foreign = foreign_resources(task, snapshot, holds)
    if foreign:
        them, were = ("them", "they were") if len(foreign) > 1 else ("it", "it was")
        raise ex.NotManaged(
            f'{where}: {"; ".join(foreign)} not created by pullthrough; send "adopt": true to take {them} over '
            f"(a rollback then puts {them} back as {were})"
        )
