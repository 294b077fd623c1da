"""Keep a request's inline credentials in the home region's source secret; they travel on by ARN only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pullthrough.adapters.secrets import SecretStore
from pullthrough.rollouts.deps import Deps
from pullthrough.tasks import SecretChange

if TYPE_CHECKING:
    from pullthrough.models import Credentials, RuleRequest


def keep_source_credential(deps: Deps, prefix: str, request: RuleRequest) -> tuple[str | None, SecretChange | None]:
    """The source secret's ARN the rollout reads (the named one, or the one inline credentials are kept in) and,
    when pullthrough wrote it, the change a rollback undoes."""
    if request.credentials is None:
        return request.credentialSecretArn, None
    assert deps.home_secrets is not None, "inline credentials need the home-region secret store"
    change = save_source_credentials(deps.home_secrets, deps.source_prefix + prefix, request.credentials)
    return change.secretArn, change


def save_source_credentials(secrets: SecretStore, name: str, credentials: Credentials) -> SecretChange:
    """Keep inline credentials in the home region's source secret ``name`` without ever reading it back.

    The change record (ARN and prior version id) lets a rolled-back or refused rollout restore it.
    """
    value = credentials.secret_string()
    found = secrets.describe(name)
    if found is None:
        made = secrets.create(name, value, description="Upstream credentials given to pullthrough's API")
        return SecretChange(action="created", secretArn=made.arn, versionId=made.version_id)
    version, scheduled = found
    if scheduled:
        secrets.restore(version.arn)
    put = secrets.put(version.arn, value)
    return SecretChange(
        action="updated",
        secretArn=put.arn,
        versionId=put.version_id,
        priorVersionId=version.version_id,
        priorScheduledForDeletion=scheduled or None,
    )
