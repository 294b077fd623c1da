"""Naming of the per-region secrets ECR reads upstream credentials from."""

from __future__ import annotations

import re

from pullthrough.exceptions import InvalidRequest
from pullthrough.prefixes import canonical_prefix

SECRET_PREFIX = "ecr-pullthroughcache/"
# Rule prefixes never start with "_", so source secrets cannot collide with regional ones, and IAM can
# scope every secret the app touches to ecr-pullthroughcache/*.
SOURCE_SECRET_PREFIX = SECRET_PREFIX + "_source/"
_SECRET_NAME = re.compile(r"[A-Za-z0-9/_+=.@-]{1,512}")


def check_secret_name(name: str) -> str:
    """Return ``name`` if ECR accepts it for a pull-through cache credential; InvalidRequest otherwise."""
    if not name.startswith(SECRET_PREFIX) or len(name) == len(SECRET_PREFIX):
        raise InvalidRequest(f"secret name must start with {SECRET_PREFIX!r} and go on", field="secretName")
    if not _SECRET_NAME.fullmatch(name):
        raise InvalidRequest("secret name must be 1..512 characters of letters, digits and /_+=.@-", field="secretName")
    return name


def secret_name_for(prefix: str) -> str:
    """The regional secret name for a rule's ``ecrRepositoryPrefix`` (one secret per rule)."""
    return check_secret_name(SECRET_PREFIX + canonical_prefix(prefix))


def source_secret_name_for(prefix: str) -> str:
    """The home-region secret the API stores inline credentials in before a rollout starts."""
    return SOURCE_SECRET_PREFIX + canonical_prefix(prefix)


def arn_region(arn: str) -> str:
    """The region field of an ARN (``arn:partition:service:region:account:...``)."""
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn":
        raise InvalidRequest(f"{arn!r} is not an ARN", field="arn")
    return parts[3]


def arn_account(arn: str) -> str:
    """The account field of an ARN."""
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn":
        raise InvalidRequest(f"{arn!r} is not an ARN", field="arn")
    return parts[4]
