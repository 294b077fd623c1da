"""The desired state of a prefix and where pullthrough has written it: pure functions, no AWS.

A target is an (account, region). A rule item records ``regions`` and ``targetAccounts`` (where the rule is desired:
each region of each account; the home account by default) and where pullthrough holds anything for the prefix after
its last finished rollout, with the regional secret's AWSCURRENT version id: ``deployed`` for the home account, and
per-account items for the others (``deployedElsewhere`` once read). A rollout converges the union of both: apply
where desired, remove where no longer desired.
"""

from __future__ import annotations

import json
from typing import Any

from pullthrough.expiry import days_left
from pullthrough.paging import counts

APPLY = "APPLY"
REMOVE = "REMOVE"
FAILED_STATUSES = ("FAILED", "ROLLBACK_FAILED")


Target = tuple[str, str]  # (account, region)


def deployed_regions(rule_item: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Where the rule item says pullthrough holds the prefix in the home account.

    Rules recorded before ``deployed`` existed count every desired region as deployed (version unknown).
    """
    if not rule_item:
        return {}
    if isinstance(rule_item.get("deployed"), dict):
        return {region: dict(entry or {}) for region, entry in rule_item["deployed"].items()}
    return {region: {} for region in rule_item.get("regions") or []}


def held_targets(rule_item: dict[str, Any] | None, home: str) -> dict[Target, dict[str, Any]]:
    """Every (account, region) the prefix is held in: the home account's ``deployed`` plus, for other accounts,
    ``deployedElsewhere`` ({account: {region: entry}}, which the store reads from the rule's per-account items)."""
    held = {(home, region): entry for region, entry in deployed_regions(rule_item).items()}
    for account, regions in ((rule_item or {}).get("deployedElsewhere") or {}).items():
        held.update({(account, region): dict(entry or {}) for region, entry in regions.items()})
    return held


def desired_targets(rule_item: dict[str, Any] | None, home: str) -> set[Target]:
    """The targets a rule item desires: its regions in each account it last expanded to (the home one by default)."""
    item = rule_item or {}
    accounts = item.get("targetAccounts")
    accounts = [home] if accounts is None else accounts
    return {(account, region) for account in accounts for region in item.get("regions") or []}


def _target(account: str, region: str, action: str) -> dict[str, str]:
    return {"account": account, "region": region, "action": action}


def targets(
    desired: list[str], previous: dict[str, Any] | None, home: str, accounts: list[str] | None = None
) -> list[dict[str, str]]:
    """The desired regions of each desired account to apply (regions in request order), then every other target
    pullthrough holds the prefix in or the previous desired state named, to remove."""
    accounts = [home] if accounts is None else accounts
    wanted = [(account, region) for account in accounts for region in desired]
    stale = sorted((set(held_targets(previous, home)) | desired_targets(previous, home)) - set(wanted))
    return [_target(a, r, APPLY) for a, r in wanted] + [_target(a, r, REMOVE) for a, r in stale]


def removal_targets(previous: dict[str, Any], home: str, accounts: list[str] | None = None) -> list[dict[str, str]]:
    """DELETE: every target the prefix is desired in or was ever left in by a finished rollout (``accounts``: only
    those accounts', e.g. one that left a targeted organizational unit)."""
    found = set(held_targets(previous, home)) | desired_targets(previous, home)
    return [_target(a, r, REMOVE) for a, r in sorted(found) if accounts is None or a in accounts]


def failures(results: list[dict[str, Any]]) -> int:
    return sum(1 for r in results if r.get("status") in FAILED_STATUSES)


def target_of(result: dict[str, Any], home: str) -> Target:
    """A result's (account, region); results of a one-account rollout carry no account: the home one."""
    return (str(result.get("account") or home), str(result["region"]))


def deployed_after(
    previous: dict[Target, dict[str, Any]], results: list[dict[str, Any]], rollout_id: str, home: str
) -> dict[Target, dict[str, Any]]:
    """Where the prefix is held once a (not rolled back) rollout's target results are in.

    A target applied holds the new secret version; a target removed holds nothing; a failed target was put back
    to its snapshot (the previous entry stands); a target whose undo failed, or whose result was lost, may hold
    anything, so it stays tracked.
    """
    deployed = {target: dict(entry) for target, entry in previous.items()}
    for result in results:
        target, status = target_of(result, home), result.get("status")
        if status == "SUCCEEDED" and result.get("action") == REMOVE:
            deployed.pop(target, None)
        elif status == "SUCCEEDED":
            secret = result.get("secret") or {}
            deployed[target] = {
                "secretArn": secret.get("secretArn"),
                "secretVersionId": secret.get("versionId"),
                "rolloutId": rollout_id,
            }
        elif status in ("ROLLBACK_FAILED", "PENDING"):
            deployed.setdefault(target, {"rolloutId": rollout_id})
    return deployed


def by_account(held: dict[Target, dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """{(account, region): entry} as {account: {region: entry}} (how the store keeps it)."""
    grouped: dict[str, dict[str, dict[str, Any]]] = {}
    for (account, region), entry in sorted(held.items()):
        grouped.setdefault(account, {})[region] = entry
    return grouped


def source_version(results: list[dict[str, Any]]) -> str | None:
    """The source secret version the rollout copied (every region copied the same one)."""
    for result in results:
        version = (result.get("secret") or {}).get("sourceVersionId")
        if version:
            return str(version)
    return None


# Shown as stored (absent ones as null).
VIEW_FIELDS = ("lastRolloutId", "lastRolloutStatus", "lastRolloutAt", "updatedAt", "drift", "driftCheckedAt")


def rule_view(item: dict[str, Any], home: str) -> dict[str, Any]:
    """A rule item as the API shows it (pullthrough.api_schema.RuleView): the prefix, the desired fields, where it
    is deployed (``deployedRegions``: the home account's; ``deployedCounts``: how many targets, accounts and regions
    in all; GET /rules/{prefix} adds the targets a page at a time), its last rollout and drift check. No storage keys
    or bookkeeping (secret version ids)."""
    return {
        "prefix": item.get("sk"),
        "rule": item.get("rule"),
        "regions": list(item.get("regions") or []),
        "accounts": item.get("accounts"),
        "organizationalUnits": item.get("organizationalUnits"),
        "retainOnAccountRemoval": bool(item.get("retainOnAccountRemoval")),
        "creationTemplate": item.get("creationTemplate"),
        "smokePull": item.get("smokePull"),
        "sourceSecretArn": item.get("sourceSecretArn"),
        "deployedRegions": sorted(deployed_regions(item)),
        "deployedCounts": item["deployedCounts"]
        if isinstance(item.get("deployedCounts"), dict)
        else counts(sorted(held_targets(item, home))),
        **{key: item.get(key) for key in VIEW_FIELDS},
        "health": health_summary(item.get("health")),
        "credentialExpiresAt": item.get("credentialExpiresAt"),
        "daysToCredentialExpiry": days_left(item["credentialExpiresAt"]) if item.get("credentialExpiresAt") else None,
    }


def health_summary(health: Any) -> dict[str, Any] | None:
    """The last sweep's verdict on the rule as a whole (pullthrough.drift.health), without its targets."""
    if not isinstance(health, dict):
        return None
    return {key: health.get(key) for key in ("status", "unhealthyTargets", "checkedAt")}


def target_health(health: Any) -> dict[Target, dict[str, Any]]:
    """The last sweep's verdict on each target it validated (a rule item's ``health``), by target."""
    checked = health if isinstance(health, dict) else {}
    return {
        (t["account"], t["region"]): {
            "status": t["status"],
            "reason": t.get("reason"),
            "checkedAt": checked["checkedAt"],
        }
        for t in checked.get("targets") or []
    }


def previous_rule(rollout: dict[str, Any]) -> dict[str, Any] | None:
    """The desired rule a rollout replaced, as recorded when it started."""
    recorded = rollout.get("previousRule")
    return json.loads(recorded) if recorded else None
