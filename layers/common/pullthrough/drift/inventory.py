"""What one target (an account's region) holds for pullthrough, read in a fixed number of calls whatever the number
of rules. In an account other than the home one the reads go through its execution role, in one session named
``pullthrough-drift-sweep`` (reused by later sweeps of a warm function until its credentials near expiry).

At most one paginated DescribePullThroughCacheRules, one DescribeRepositoryCreationTemplates and one ListSecrets on
``ecr-pullthroughcache/`` (whose SecretVersionsToStages gives each secret's AWSCURRENT version: no value is read).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pullthrough import aws
from pullthrough import exceptions as ex
from pullthrough.adapters.ecr import EcrRegistry
from pullthrough.adapters.secret_listing import ListedSecret, SecretListing
from pullthrough.drift.desired import RULES, SECRETS, TEMPLATES
from pullthrough.secret_names import SECRET_PREFIX


@dataclass(frozen=True)
class RegionInventory:
    """One region's rules and templates by prefix and secrets by name; None where not read, ``error`` if unreadable."""

    rules: dict[str, dict[str, Any]] | None = None
    templates: dict[str, dict[str, Any]] | None = None
    secrets: dict[str, ListedSecret] | None = None
    error: str | None = None
    role_unavailable: bool = False  # the account's execution role could not be assumed: none of its regions is read


SESSION_NAME = "pullthrough-drift-sweep"


def read_inventory(region: str, reads: frozenset[str], account: str | None = None) -> RegionInventory:
    """Read what ``reads`` asks for in ``region`` of ``account`` (None: the home account): one paginated call per
    kind, none per rule, the kinds at once (one round trip to the region, not three one after another)."""
    kinds = [kind for kind in (RULES, TEMPLATES, SECRETS) if kind in reads]
    if not kinds:
        return RegionInventory()
    try:
        with ThreadPoolExecutor(max_workers=len(kinds)) as pool:
            reading = {kind: pool.submit(_read, kind, region, account) for kind in kinds}
            found = {kind: future.result() for kind, future in reading.items()}
    except ex.ExecutionRoleUnavailable as error:
        return RegionInventory(error=f"{type(error).__name__}: {error.message}", role_unavailable=True)
    except ex.PullthroughError as error:
        return RegionInventory(error=f"{type(error).__name__}: {error.message}")
    return RegionInventory(found.get(RULES), found.get(TEMPLATES), found.get(SECRETS))


def _read(kind: str, region: str, account: str | None) -> Any:
    """One kind of resource in one region: rules and templates by prefix, secrets by name."""
    if kind == SECRETS:
        listing = SecretListing(aws.client("secretsmanager", region, account=account, session_name=SESSION_NAME))
        return listing.list_secrets(SECRET_PREFIX)
    ecr = EcrRegistry(aws.client("ecr", region, account=account, session_name=SESSION_NAME))
    if kind == RULES:
        return {rule["ecrRepositoryPrefix"]: rule for rule in ecr.list_rules()}
    return ecr.list_templates()
