"""Health: the sweep asks ECR to validate each target's rule (ValidatePullThroughCacheRule), so an upstream that stopped
accepting the credential (a lapsed or revoked token) is seen before a pull fails.

Each desired target whose read found the rule is validated: ``healthy``, or ``unhealthy`` with ECR's ``failure`` text
(``unknown`` when ECR could not be asked). The rule item keeps the result (``health``) only when it changed, like the
drift report; a rollout's new desired rule starts without one, until the next sweep.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from pullthrough import aws
from pullthrough import exceptions as ex
from pullthrough.adapters.ecr import EcrRegistry
from pullthrough.desired import Target
from pullthrough.drift.desired import Desired
from pullthrough.drift.inventory import SESSION_NAME, RegionInventory
from pullthrough.expiry import CREDENTIAL_EXPIRING, days_left
from pullthrough.rollouts.deps import Deps
from pullthrough.rotation import ARN_SUFFIX_LENGTH

HEALTHY, UNHEALTHY, UNKNOWN = "healthy", "unhealthy", "unknown"
MAX_VALIDATORS = 16

#: (region, prefix, account or None: home) -> (isValid, ECR's failure text)
Validator = Callable[[str, str, str | None], tuple[bool, str]]


def validate_in(region: str, prefix: str, account: str | None) -> tuple[bool, str]:
    """ValidatePullThroughCacheRule for ``prefix`` in ``region`` of ``account`` (through its execution role)."""
    return EcrRegistry(aws.client("ecr", region, account=account, session_name=SESSION_NAME)).validate_rule(prefix)


def _checked(desired: Desired, inventories: dict[Target, RegionInventory]) -> list[Target]:
    """The desired targets whose read found the rule (a missing rule is drift, not ill health)."""
    found = []
    for target in desired.targets:
        inventory = inventories.get(target)
        if inventory is not None and inventory.rules is not None and desired.prefix in inventory.rules:
            found.append(target)
    return found


def check_health(
    desired: list[Desired], inventories: dict[Target, RegionInventory], validate: Validator, checked_at: str
) -> dict[str, dict[str, Any]]:
    """prefix -> {status, unhealthyTargets, checkedAt, targets: [{account, region, status, reason?}]} for each rule
    with at least one target validated; every validation at once."""
    work = [(one, target) for one in desired for target in _checked(one, inventories)]

    def one_target(item: tuple[Desired, Target]) -> dict[str, Any]:
        rule, (account, region) = item
        try:
            valid, failure = validate(region, rule.prefix, None if account == rule.home else account)
        except ex.PullthroughError as error:
            entry = {"status": UNKNOWN, "reason": f"{type(error).__name__}: {error.message}"}
        else:
            entry = {"status": HEALTHY} if valid else {"status": UNHEALTHY, "reason": failure or "ECR: invalid"}
        return {"account": account, "region": region, **entry}

    if not work:
        return {}
    with ThreadPoolExecutor(max_workers=min(MAX_VALIDATORS, len(work))) as pool:
        results = list(pool.map(one_target, work))
    by_prefix: dict[str, list[dict[str, Any]]] = {}
    for (rule, _), result in zip(work, results, strict=True):
        by_prefix.setdefault(rule.prefix, []).append(result)
    return {prefix: summary(targets, checked_at) for prefix, targets in by_prefix.items()}


def summary(targets: list[dict[str, Any]], checked_at: str) -> dict[str, Any]:
    unhealthy = sum(1 for t in targets if t["status"] == UNHEALTHY)
    status = UNHEALTHY if unhealthy else UNKNOWN if any(t["status"] == UNKNOWN for t in targets) else HEALTHY
    return {"status": status, "unhealthyTargets": unhealthy, "checkedAt": checked_at, "targets": targets}


def health_changed(recorded: Any, health: dict[str, Any] | None) -> bool:
    """Whether ``health`` says something the recorded one does not (when it was checked aside)."""
    if health is None:
        return False
    return not isinstance(recorded, dict) or {**recorded, "checkedAt": None} != {**health, "checkedAt": None}


def credential_expiries(
    desired: list[Desired], inventories: dict[Target, RegionInventory], now: datetime | None = None
) -> dict[str, dict[str, Any]]:
    """prefix -> {expiresAt, daysLeft} for each rule whose credential's expiry is known: the source secret's tag as
    the sweep listed it (the truth, whoever rotated it), else what the rule recorded."""
    found = {}
    for one in desired:
        expires_at = one.item.get("credentialExpiresAt")
        region = one.source_region
        listed = inventories.get((one.home, region)) if region and one.source_arn else None
        if listed is not None and listed.secrets is not None and one.source_arn:
            name = one.source_arn.split(":", 6)[6][:-ARN_SUFFIX_LENGTH]
            secret = listed.secrets.get(name)
            expires_at = secret.expires_at if secret is not None else expires_at
        left = days_left(expires_at, now) if isinstance(expires_at, str) else None
        if left is not None:
            found[one.prefix] = {"expiresAt": expires_at, "daysLeft": left}
    return found


def announce_expiries(
    deps: Deps, desired: list[Desired], expiries: dict[str, dict[str, Any]], warning_days: int
) -> None:
    """Record each rule's known expiry when it changed; emit Credential Expiring for those within ``warning_days``."""
    for one in desired:
        expiry = expiries.get(one.prefix)
        expires_at = expiry["expiresAt"] if expiry else None
        if expires_at != one.item.get("credentialExpiresAt") and expiry is not None:
            deps.store.update_rule(one.prefix, credentialExpiresAt=expires_at)
        if expiry is not None and expiry["daysLeft"] <= warning_days and deps.events is not None:
            deps.events.emit(CREDENTIAL_EXPIRING, {"prefix": one.prefix, **expiry})
