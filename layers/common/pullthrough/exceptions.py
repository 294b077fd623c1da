"""Domain exceptions.

The class name of each exception is the error name Step Functions sees (the in-process runner and Lambda both
report ``errorType`` as the class name), so ASL Retry/Catch match on these names. Messages never carry a
credential value.
"""

from __future__ import annotations


class PullthroughError(Exception):
    """Base class of every domain failure."""

    transient = False

    def __init__(self, message: str, *, field: str | None = None, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.errors = errors if errors is not None else ([{"field": field, "message": message}] if field else [])


# Input problems (the caller's mistake: 4xx, never retried)
class InvalidRequest(PullthroughError):
    """A rule request, event or task input is malformed; ``field`` names the culprit."""


class UnknownRegion(InvalidRequest):
    """A region name is not one where ECR is offered."""


class UnknownOrganizationalUnit(InvalidRequest):
    """An OU or root id that the organization pullthrough reads does not have."""


# Secrets Manager
class SecretNotFound(PullthroughError):
    """A secret does not exist (or is scheduled for deletion)."""


class SecretScheduledForDeletion(PullthroughError):
    """The secret exists but is scheduled for deletion (a DELETE rollout removed it); it can be restored."""


class SourceSecretNotFound(PullthroughError):
    """The home-region source secret that holds the upstream credentials does not exist."""


class SourceSecretMalformed(PullthroughError):
    """The source secret is not a JSON object with non-empty ``username`` and ``accessToken``."""


class SecretAccessDenied(PullthroughError):
    """Secrets Manager refused an operation (IAM, KMS or resource policy)."""


class AccessDenied(PullthroughError):
    """An AWS service other than Secrets Manager refused the call (IAM, SCP or resource policy)."""


# ECR
class ExecutionRoleUnavailable(PullthroughError):
    """The target account's execution role (PullthroughExecutionRole) does not exist or does not trust pullthrough."""


class RuleLimitExceeded(PullthroughError):
    """The region already holds ECR's maximum of 50 pull-through cache rules."""


class RuleNotFound(PullthroughError):
    """No pull-through cache rule exists for the prefix."""


class RuleAlreadyExists(PullthroughError):
    """A rule for the prefix appeared between our read and our write (a concurrent writer)."""


class UpstreamRejected(PullthroughError):
    """ECR refused the upstream registry, its URL or its authentication settings."""


class UpstreamSecretRejected(PullthroughError):
    """ECR could not find, read or decrypt the rule's credential secret."""


class RuleValidationFailed(PullthroughError):
    """ValidatePullThroughCacheRule answered isValid=false; the message is ECR's ``failure`` text."""


class SmokePullFailed(PullthroughError):
    """A pull through the target's cache (the smoke pull after ApplyTemplate) failed; the message is the
    registry's answer (status, OCI error code and message)."""


class TemplateRejected(PullthroughError):
    """ECR refused the repository creation template."""


class AwsRequestRejected(PullthroughError):
    """AWS rejected a request as invalid for a reason not covered above."""


class SdkModelMismatch(PullthroughError):
    """The SDK refused to send a request its service model does not allow (botocore's ParamValidationError).

    Not retried: the same SDK refuses again. The usual cause is a botocore older than the one the layer pins (the
    Lambda runtime's own, e.g. one without ``upstreamRepositoryPrefix``); the message names botocore's version.
    """


# Ownership (not retried: the same target refuses again)
class NotManaged(PullthroughError):
    """The target holds a rule, secret or creation template for the prefix that pullthrough did not create.

    pullthrough changes only what it manages; a request with ``"adopt": true`` takes such resources over (and a
    rollback puts them back exactly as they were).
    """


class SecretKeyUnsupported(PullthroughError):
    """The target's ``ecr-pullthroughcache/<prefix>`` secret is encrypted with a customer-managed KMS key: ECR's
    pull-through cache reads only secrets under the AWS managed key (aws/secretsmanager)."""


# Rollout control
class PastFailureTolerance(PullthroughError):
    """The rollout already counts more failed regions than it tolerates: a region not yet started is skipped."""


class RegionNotEnabled(PullthroughError):
    """The target account has not enabled this opt-in region (GetRegionOptStatus): the target is skipped."""


# Transient (retried by the state machine with backoff and jitter)
class AwsTransientError(PullthroughError):
    """Throttling, a 5xx or a connection problem: safe to retry."""

    transient = True


class ConcurrentModification(PullthroughError):
    """Another writer changed the resource while we worked on it: safe to retry."""

    transient = True


class RotationDeferred(PullthroughError):
    """A rule whose source secret changed stayed busy with another rollout: the change event is retried."""

    transient = True
