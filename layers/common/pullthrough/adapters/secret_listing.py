"""Secrets Manager listing: names, ARNs and current version ids of the secrets under a name prefix. Never values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pullthrough import exceptions as ex
from pullthrough.adapters.errors import translated
from pullthrough.expiry import EXPIRY_TAG

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

PAGE_SIZE = 100  # ListSecrets' largest page
CURRENT = "AWSCURRENT"
_ERRORS: dict[str, type[ex.PullthroughError]] = {"InvalidParameterException": ex.AwsRequestRejected}


@dataclass(frozen=True, slots=True)
class ListedSecret:
    """A secret as ListSecrets shows it: no value, only where it is and which version is AWSCURRENT."""

    name: str
    arn: str
    current_version: str | None = None
    expires_at: str | None = None  # the credential's expiry tag (pullthrough.expiry), when it has one


def current_version(versions_to_stages: dict[str, Any] | None) -> str | None:
    """The version id labelled AWSCURRENT in a ListSecrets ``SecretVersionsToStages`` map; None when none is."""
    return next((version for version, stages in (versions_to_stages or {}).items() if CURRENT in stages), None)


class SecretListing:
    """The secrets of one region, listed by name prefix."""

    def __init__(self, client: SecretsManagerClient) -> None:
        self._sm = client

    def list_secrets(self, prefix: str) -> dict[str, ListedSecret]:
        """Every secret whose name starts with ``prefix`` (none scheduled for deletion), by name.

        One ListSecrets call per 100 secrets; each entry carries SecretVersionsToStages, so the version ids cost
        no further call. The service's name filter ignores case, so names are checked again.
        """
        found: dict[str, ListedSecret] = {}
        with translated(_ERRORS, "ListSecrets"):
            pages = self._sm.get_paginator("list_secrets").paginate(
                Filters=[{"Key": "name", "Values": [prefix]}], PaginationConfig={"PageSize": PAGE_SIZE}
            )
            for page in pages:
                for secret in page.get("SecretList", []):
                    name = secret.get("Name", "")
                    if name.startswith(prefix) and "ARN" in secret:
                        version = current_version(secret.get("SecretVersionsToStages"))
                        tags = {tag.get("Key"): tag.get("Value") for tag in secret.get("Tags") or []}
                        found[name] = ListedSecret(name, secret["ARN"], version, tags.get(EXPIRY_TAG))
        return found
