"""What one target (an account's region) holds for pullthrough, read in a fixed number of calls whatever the number
of rules. In an account other than the home one the reads go through its execution role, in one session named
``pullthrough-drift-sweep`` (reused by later sweeps of a warm function until its credentials near expiry).

At most one paginated DescribePullThroughCacheRules, one DescribeRepositoryCreationTemplates and one ListSecrets on
``ecr-pullthroughcache/`` (whose SecretVersionsToStages gives each secret's AWSCURRENT version: no value is read).
"""

from __future__ import annotations

from collections.abc import Callable
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
    readers: dict[str, Callable[[], Any]] = {}
    try:
        # The clients first, here: each made once (not by two reading threads at once), and an execution role that
        # cannot be assumed is found before any read.
        if RULES in reads or TEMPLATES in reads:
            ecr = EcrRegistry(aws.client("ecr", region, account=account, session_name=SESSION_NAME))
            if RULES in reads:
                readers[RULES] = lambda: {rule["ecrRepositoryPrefix"]: rule for rule in ecr.list_rules()}
            if TEMPLATES in reads:
                readers[TEMPLATES] = ecr.list_templates
        if SECRETS in reads:
            listing = SecretListing(aws.client("secretsmanager", region, account=account, session_name=SESSION_NAME))
            readers[SECRETS] = lambda: listing.list_secrets(SECRET_PREFIX)
        if not readers:
            return RegionInventory()
        with ThreadPoolExecutor(max_workers=len(readers)) as pool:
            reading = {kind: pool.submit(read) for kind, read in readers.items()}
            found = {kind: future.result() for kind, future in reading.items()}
    except ex.ExecutionRoleUnavailable as error:
        return RegionInventory(error=f"{type(error).__name__}: {error.message}", role_unavailable=True)
    except ex.PullthroughError as error:
        return RegionInventory(error=f"{type(error).__name__}: {error.message}")
    return RegionInventory(found.get(RULES), found.get(TEMPLATES), found.get(SECRETS))
