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
MANAGED_BY = "managed-by"
PREFIX_TAG = "pullthrough:prefix"
OUR_TAG_KEYS = (MANAGED_BY, PREFIX_TAG)


def managed(tags: dict[str, str]) -> bool:
    """Whether a secret's tags say pullthrough created (or took over) it."""
    return tags.get(MANAGED_BY) == "pullthrough"


# The aws/secretsmanager key: the one key ECR's pull-through cache can decrypt a secret with.
AWS_MANAGED_KEY = "alias/aws/secretsmanager"


def ours(prefix: str | None) -> dict[str, str]:
    """The tags pullthrough puts on a secret it creates or takes over (managed-by always sent with the others, so an
    IAM condition on ``aws:RequestTag/managed-by`` holds for every tagging call)."""
    return {MANAGED_BY: "pullthrough"} | ({PREFIX_TAG: prefix} if prefix else {})


@dataclass(frozen=True, slots=True)
class SecretVersion:
    """Where a secret stands: its full ARN and the version holding AWSCURRENT."""

    arn: str
    version_id: str


@dataclass(frozen=True, slots=True)
class SecretDetails:
    """What DescribeSecret says of a secret, never its value: where it stands, its tags and its KMS key."""

    version: SecretVersion
    scheduled_for_deletion: bool
    tags: dict[str, str]
    kms_key_id: str | None  # None: the AWS managed key (aws/secretsmanager)


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
        found = self.details(secret_id)
        return None if found is None else (found.version, found.scheduled_for_deletion)

    def details(self, secret_id: str) -> SecretDetails | None:
        """DescribeSecret's answer (no value read), or None when the secret does not exist."""
        try:
            with translated(_ERRORS, "DescribeSecret"):
                described = self._sm.describe_secret(SecretId=secret_id)
        except ex.SecretNotFound:
            return None
        stages = described.get("VersionIdsToStages", {})
        current = next((v for v, s in stages.items() if "AWSCURRENT" in s), "")
        return SecretDetails(
            version=SecretVersion(described["ARN"], current),
            scheduled_for_deletion="DeletedDate" in described,
            tags={tag["Key"]: tag["Value"] for tag in described.get("Tags") or []},
            kms_key_id=described.get("KmsKeyId") or None,
        )

    def tag(self, secret_id: str, tags: dict[str, str]) -> None:
        """Add or overwrite ``tags`` (the secret's other tags stay)."""
        with translated(_ERRORS, "TagResource"):
            self._sm.tag_resource(SecretId=secret_id, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])

    def untag(self, secret_id: str, keys: list[str]) -> None:
        with translated(_ERRORS, "UntagResource"):
            self._sm.untag_resource(SecretId=secret_id, TagKeys=keys)

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

    def create(self, name: str, value: str, *, description: str, prefix: str | None = None) -> SecretVersion:
        """Create a secret encrypted with the default aws/secretsmanager key, as ECR requires, tagged as
        pullthrough's (``managed-by: pullthrough``, and ``pullthrough:prefix`` when the rule's prefix is given)."""
        tags: Any = [{"Key": k, "Value": v} for k, v in ours(prefix).items()]
        with translated(_ERRORS, "CreateSecret"):
            made = self._sm.create_secret(Name=name, SecretString=value, Description=description, Tags=tags)
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
        """Delete at once (no recovery window, so the name is free again); False when there was none.

        Looked up first: IAM lets pullthrough delete only the secrets tagged as its own (aws:ResourceTag), and a
        secret that does not exist has no tags, so AWS answers its deletion AccessDenied, not ResourceNotFound.
        """
        if self.describe(secret_id) is None:
            return False
        try:
            with translated(_ERRORS, "DeleteSecret"):
                self._sm.delete_secret(SecretId=secret_id, ForceDeleteWithoutRecovery=True)
        except ex.SecretNotFound:
            return False
        return True

    def facts(self, secret_id: str) -> SecretFacts | None:
        """The secret's facts (DescribeSecret, no value read), or None when it does not exist."""
        try:
            with translated(_ERRORS, "DescribeSecret"):
                described = self._sm.describe_secret(SecretId=secret_id)
        except ex.SecretNotFound:
            return None
        tags = {str(tag.get("Key")): str(tag.get("Value")) for tag in described.get("Tags") or []}
        return SecretFacts(described["Name"], described.get("KmsKeyId"), managed(tags))


AWS_MANAGED_KEY_ALIAS = "alias/aws/secretsmanager"


@dataclass(frozen=True, slots=True)
class SecretFacts:
    """What a secret says of itself without its value: its name, the KMS key it is encrypted with (None: the AWS
    managed key aws/secretsmanager) and whether pullthrough made it (tagged managed-by: pullthrough)."""

    name: str
    kms_key_id: str | None
    managed: bool

    @property
    def customer_managed_key(self) -> bool:
        """Encrypted with a key other than aws/secretsmanager: ECR cannot read such a secret."""
        key = self.kms_key_id
        return bool(key) and not (key == AWS_MANAGED_KEY_ALIAS or str(key).endswith(":" + AWS_MANAGED_KEY_ALIAS))
