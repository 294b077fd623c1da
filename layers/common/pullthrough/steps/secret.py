"""StoreSecret: copy upstream credentials from the home-region source secret into the region's ECR secret."""

from __future__ import annotations

import json

from pullthrough import exceptions as ex
from pullthrough.adapters.secrets import SecretDetails, SecretStore, managed, ours
from pullthrough.secret_names import secret_name_for
from pullthrough.tasks import RegionTask, SecretChange

DESCRIPTION = "Upstream registry credentials for an ECR pull-through cache rule, managed by pullthrough"


def credential_document(secret_string: str, *, what: str) -> dict[str, str]:
    """The ``username`` + ``accessToken`` ECR reads, from a secret's string.

    Raises SourceSecretMalformed without quoting the value.
    """
    try:
        data = json.loads(secret_string)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not all(
        isinstance(data.get(key), str) and data[key] for key in ("username", "accessToken")
    ):
        raise ex.SourceSecretMalformed(f"{what} must be a JSON object with non-empty username and accessToken")
    return {"username": data["username"], "accessToken": data["accessToken"]}


def store_secret(task: RegionTask, source: SecretStore, target: SecretStore) -> SecretChange:
    """Make the region's ``ecr-pullthroughcache/<prefix>`` secret hold the source secret's credentials.

    Writes nothing when the region already holds the same credentials. The value is read and written here
    and goes nowhere else. A secret it creates is tagged as pullthrough's; one it takes over (``adopt``: SnapshotRegion
    let an untagged one through) gets those tags first, and keeps its other tags.
    """
    if not task.rule.needs_secret:
        return SecretChange(action="skipped")
    if task.planning and task.inlineCredentials:
        return plan_inline_credentials(task, target)
    if task.sourceSecretArn is None:
        raise ex.InvalidRequest(
            f"{task.rule.upstreamRegistry} needs a source secret: sourceSecretArn is missing",
            field="sourceSecretArn",
        )
    found = source.read(task.sourceSecretArn)
    if found is None:
        raise ex.SourceSecretNotFound(f"source secret {task.sourceSecretArn} does not exist")
    wanted = credential_document(found[1], what=f"source secret {task.sourceSecretArn}")
    source_version = found[0].version_id

    name = secret_name_for(task.prefix)
    restored = False
    try:
        current = target.read(name)
    except ex.SecretScheduledForDeletion:
        restored = target.restore(name)  # a DELETE rollout left it recoverable; take it back
        current = target.read(name)
    if current is None:
        made = target.create(name, json.dumps(wanted), description=DESCRIPTION, prefix=task.prefix)
        return SecretChange(
            action="created", secretArn=made.arn, versionId=made.version_id, sourceVersionId=source_version
        )
    version, value = current
    taken = task.adopt and adopt_secret(task.prefix, version.arn, target)
    try:
        unchanged = credential_document(value, what=name) == wanted
    except ex.SourceSecretMalformed:
        unchanged = False
    if unchanged and not restored and not taken:
        return SecretChange(
            action="unchanged",
            secretArn=version.arn,
            versionId=version.version_id,
            priorVersionId=version.version_id,
            sourceVersionId=source_version,
        )
    put = version if unchanged else target.put(version.arn, json.dumps(wanted))
    return SecretChange(
        action="updated",
        secretArn=put.arn,
        versionId=put.version_id,
        priorVersionId=version.version_id,
        priorScheduledForDeletion=restored or None,
        sourceVersionId=source_version,
    )


def adopt_secret(prefix: str, arn: str, target: SecretStore) -> bool:
    """Tag an existing secret as pullthrough's, unless it already is; True when it was not."""
    found = target.details(arn)
    wanted = ours(prefix)
    if found is None or all(found.tags.get(k) == v for k, v in wanted.items()):
        return False
    target.tag(arn, wanted)
    return True


def plan_inline_credentials(task: RegionTask, target: SecretStore) -> SecretChange:
    """A plan of a request with inline credentials: they are never stored for a plan, so they cannot be compared.

    The region's secret would be created when there is none, else updated with the credentials given.
    """
    found = target.describe(secret_name_for(task.prefix))
    if found is None:
        made = target.create(secret_name_for(task.prefix), "", description=DESCRIPTION, prefix=task.prefix)
        return SecretChange(action="created", secretArn=made.arn, versionId=made.version_id)
    return SecretChange(action="updated", secretArn=found[0].arn, priorVersionId=found[0].version_id)


def restore_secret(change: SecretChange | None, target: SecretStore) -> str:
    """Undo a recorded secret write (the API's source secret; regions are restored from snapshots): delete what
    was created, or make the prior version current again (and re-schedule its deletion if the write cancelled one)."""
    if change is None or not change.changed or change.secretArn is None:
        return "unchanged"
    if change.action == "created":
        return "deleted" if target.delete(change.secretArn) else "unchanged"
    assert change.priorVersionId is not None
    moved = target.make_current(change.secretArn, change.priorVersionId)
    if change.priorScheduledForDeletion and not target.is_scheduled_for_deletion(change.secretArn):
        target.schedule_deletion(change.secretArn)
        return "deleted"
    return "updated" if moved else "unchanged"


def remove_secret(found: SecretDetails | None, target: SecretStore) -> SecretChange:
    """Schedule the region's secret (``found``: DescribeSecret's answer, never its value) for deletion, recoverable
    so that rollback can restore it; one that is not pullthrough's (not tagged as its own) stays as it is."""
    if found is None or found.scheduled_for_deletion or not managed(found.tags):
        return SecretChange(action="unchanged")
    version = found.version
    target.schedule_deletion(version.arn)
    return SecretChange(action="deleted", secretArn=version.arn, priorVersionId=version.version_id)
