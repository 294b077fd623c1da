"""Secrets Manager adapter. Secret values pass through here and nowhere else; they are never logged."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pullthrough import exceptions as ex
from pullthrough.adapters.errors import translated

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

_ERRORS: dict[str, type[ex.PullthroughError]] = {
    "ResourceNotFoundException": ex.SecretNotFound,
    "AccessDeniedException": ex.SecretAccessDenied,
    "DecryptionFailure": ex.SecretAccessDenied,
    "InvalidRequestException": ex.ConcurrentModification,  # e.g. scheduled for deletion, or a stage race
    "ResourceExistsException": ex.ConcurrentModification,
    "InvalidParameterException": ex.AwsRequestRejected,
    "LimitExceededException": ex.AwsTransientError,
}
MANAGED_BY_TAG: Any = {"Key": "managed-by", "Value": "pullthrough"}


@dataclass(frozen=True, slots=True)
class SecretVersion:
    """Where a secret stands: its full ARN and the version holding AWSCURRENT."""

    arn: str
    version_id: str


class SecretStore:
    """Secrets of one region."""

    def __init__(self, client: SecretsManagerClient) -> None:
        self._sm = client

    def read(self, secret_id: str) -> tuple[SecretVersion, str] | None:
        """The current version and SecretString of a secret, or None when it does not exist.

        Raises SecretScheduledForDeletion when the secret awaits deletion (and so can be restored).
        """
        try:
            with translated(_ERRORS, "GetSecretValue"):
                got = self._sm.get_secret_value(SecretId=secret_id)
        except ex.SecretNotFound:
            return None
        except ex.ConcurrentModification:
            if self.is_scheduled_for_deletion(secret_id):
                raise ex.SecretScheduledForDeletion(f"secret {secret_id} is scheduled for deletion") from None
            raise
        return SecretVersion(got["ARN"], got["VersionId"]), got.get("SecretString", "")

    def describe(self, secret_id: str) -> tuple[SecretVersion, bool] | None:
        """The secret's ARN and AWSCURRENT version, and whether it is scheduled for deletion (no value read)."""
        try:
            with translated(_ERRORS, "DescribeSecret"):
                described = self._sm.describe_secret(SecretId=secret_id)
        except ex.SecretNotFound:
            return None
        stages = described.get("VersionIdsToStages", {})
        current = next((v for v, s in stages.items() if "AWSCURRENT" in s), "")
        return SecretVersion(described["ARN"], current), "DeletedDate" in described

    def is_scheduled_for_deletion(self, secret_id: str) -> bool:
        try:
            with translated(_ERRORS, "DescribeSecret"):
                return "DeletedDate" in self._sm.describe_secret(SecretId=secret_id)
        except ex.SecretNotFound:
            return False

    def schedule_deletion(self, secret_id: str, *, recovery_days: int = 7) -> bool:
        """Delete with a recovery window, so a rollback can restore it; False when there was none.

        Safe to repeat: a secret already scheduled for deletion stays so (Secrets Manager refuses a second
        DeleteSecret with InvalidRequestException).
        """
        try:
            with translated(_ERRORS, "DeleteSecret"):
                self._sm.delete_secret(SecretId=secret_id, RecoveryWindowInDays=recovery_days)
        except ex.SecretNotFound:
            return False
        except ex.ConcurrentModification:
            if self.is_scheduled_for_deletion(secret_id):
                return True
            raise
        return True

    def restore(self, secret_id: str) -> bool:
        """Cancel a scheduled deletion; False when the secret was not scheduled for deletion."""
        if not self.is_scheduled_for_deletion(secret_id):
            return False
        with translated(_ERRORS, "RestoreSecret"):
            self._sm.restore_secret(SecretId=secret_id)
        return True

    def create(self, name: str, value: str, *, description: str) -> SecretVersion:
        """Create a secret encrypted with the default aws/secretsmanager key, as ECR requires."""
        with translated(_ERRORS, "CreateSecret"):
            made = self._sm.create_secret(Name=name, SecretString=value, Description=description, Tags=[MANAGED_BY_TAG])
        return SecretVersion(made["ARN"], made["VersionId"])

    def put(self, secret_id: str, value: str) -> SecretVersion:
        """Store a new current version; the previous one keeps AWSPREVIOUS."""
        with translated(_ERRORS, "PutSecretValue"):
            put = self._sm.put_secret_value(SecretId=secret_id, SecretString=value)
        return SecretVersion(put["ARN"], put["VersionId"])

    def make_current(self, secret_id: str, version_id: str) -> bool:
        """Move AWSCURRENT back to ``version_id``; False when it already is current."""
        with translated(_ERRORS, "DescribeSecret"):
            described = self._sm.describe_secret(SecretId=secret_id)
        stages = described.get("VersionIdsToStages", {})
        current = next((v for v, s in stages.items() if "AWSCURRENT" in s), None)
        if current == version_id:
            return False
        with translated(_ERRORS, "UpdateSecretVersionStage"):
            self._sm.update_secret_version_stage(
                SecretId=secret_id,
                VersionStage="AWSCURRENT",
                MoveToVersionId=version_id,
                **({"RemoveFromVersionId": current} if current else {}),
            )
        return True

    def tag_expiry(self, secret_id: str, tag: str, expires_at: str | None) -> None:
        """Set the credential's expiry tag (``expires_at``), or remove it (None). Never touches the value."""
        if expires_at is None:
            with translated(_ERRORS, "UntagResource"):
                self._sm.untag_resource(SecretId=secret_id, TagKeys=[tag])
        else:
            with translated(_ERRORS, "TagResource"):
                self._sm.tag_resource(SecretId=secret_id, Tags=[{"Key": tag, "Value": expires_at}])

    def delete(self, secret_id: str) -> bool:
        """Delete at once (no recovery window, so the name is free again); False when there was none."""
        try:
            with translated(_ERRORS, "DeleteSecret"):
                self._sm.delete_secret(SecretId=secret_id, ForceDeleteWithoutRecovery=True)
        except ex.SecretNotFound:
            return False
        return True
