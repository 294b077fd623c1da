"""Pull-through cache rules, repository creation templates and Describe* pagination."""

import base64
import binascii
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .ecr_errors import invalid_parameter


def now() -> datetime:
    """Current time (UTC); moto serializes it as ECR's epoch-seconds timestamps."""
    return datetime.now(UTC)


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


@dataclass
class PullThroughCacheRule:
    """One rule of one registry in one Region."""

    registry_id: str
    region: str
    ecr_repository_prefix: str
    upstream_registry_url: str
    upstream_registry: str
    upstream_repository_prefix: str = "ROOT"
    credential_arn: str | None = None
    custom_role_arn: str | None = None
    created_at: datetime = field(default_factory=now)
    updated_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.updated_at is None:
            self.updated_at = self.created_at

    def to_dict(self) -> dict[str, Any]:
        """All members of ECR's PullThroughCacheRule shape (the serializer keeps those of each output)."""
        return _without_none(
            {
                "ecrRepositoryPrefix": self.ecr_repository_prefix,
                "upstreamRegistryUrl": self.upstream_registry_url,
                "createdAt": self.created_at,
                "updatedAt": self.updated_at,
                "registryId": self.registry_id,
                "upstreamRegistry": self.upstream_registry,
                "credentialArn": self.credential_arn,
                "customRoleArn": self.custom_role_arn,
                "upstreamRepositoryPrefix": self.upstream_repository_prefix,
            }
        )


@dataclass
class RepositoryCreationTemplate:
    """One repository creation template of one registry in one Region."""

    prefix: str
    applied_for: list[str]
    description: str | None = None
    encryption_configuration: dict[str, str] = field(default_factory=lambda: {"encryptionType": "AES256"})
    resource_tags: list[dict[str, str]] = field(default_factory=list)
    image_tag_mutability: str = "MUTABLE"
    image_tag_mutability_exclusion_filters: list[dict[str, str]] | None = None
    repository_policy: str | None = None
    lifecycle_policy: str | None = None
    custom_role_arn: str | None = None
    created_at: datetime = field(default_factory=now)
    updated_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.updated_at is None:
            self.updated_at = self.created_at

    def to_dict(self) -> dict[str, Any]:
        """ECR's RepositoryCreationTemplate shape."""
        return _without_none(
            {
                "prefix": self.prefix,
                "description": self.description,
                "encryptionConfiguration": dict(self.encryption_configuration),
                "resourceTags": [dict(tag) for tag in self.resource_tags],
                "imageTagMutability": self.image_tag_mutability,
                "imageTagMutabilityExclusionFilters": self.image_tag_mutability_exclusion_filters,
                "repositoryPolicy": self.repository_policy,
                "lifecyclePolicy": self.lifecycle_policy,
                "appliedFor": list(self.applied_for),
                "customRoleArn": self.custom_role_arn,
                "createdAt": self.created_at,
                "updatedAt": self.updated_at,
            }
        )


def _encode_token(last_key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": last_key}).encode()).decode()


def _decode_token(token: Any) -> str:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(str(token).encode()))
        after = decoded["after"]
    except (binascii.Error, ValueError, TypeError, KeyError):
        raise invalid_parameter("nextToken", "Invalid pagination token") from None
    if not isinstance(after, str):
        raise invalid_parameter("nextToken", "Invalid pagination token")
    return after


def paginate[T](
    items: Iterable[T], key: Callable[[T], str], max_results: int, next_token: Any
) -> tuple[list[T], str | None]:
    """Return one page of ``items`` ordered by ``key`` and the token of the next page (None at the end).

    The token names the last key returned, so deleting items between pages never skips others.
    """
    ordered = sorted(items, key=key)
    if next_token is not None:
        after = _decode_token(next_token)
        ordered = [item for item in ordered if key(item) > after]
    page = ordered[:max_results]
    token = _encode_token(key(page[-1])) if len(ordered) > max_results else None
    return page, token
