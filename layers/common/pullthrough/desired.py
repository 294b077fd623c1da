"""The desired state of a prefix and where pullthrough has written it: pure functions, no AWS.

A rule item records ``regions`` (where the rule is desired) and ``deployed`` (every region where pullthrough holds
anything for the prefix after its last finished rollout, with the regional secret's AWSCURRENT version id). A
rollout converges the union of both: apply where desired, remove where no longer desired.
"""

from __future__ import annotations

import json
from typing import Any

APPLY = "APPLY"
REMOVE = "REMOVE"
FAILED_STATUSES = ("FAILED", "ROLLBACK_FAILED")


def deployed_regions(rule_item: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Where the rule item says pullthrough holds the prefix.

    Rules recorded before ``deployed`` existed count every desired region as deployed (version unknown).
    """
    if not rule_item:
        return {}
    if isinstance(rule_item.get("deployed"), dict):
        return {region: dict(entry or {}) for region, entry in rule_item["deployed"].items()}
    return {region: {} for region in rule_item.get("regions") or []}


def targets(desired: list[str], previous: dict[str, Any] | None) -> list[dict[str, str]]:
    """Desired regions to apply (in request order), then every other region pullthrough holds the prefix in."""
    held = deployed_regions(previous)
    stale = sorted((set(held) | set((previous or {}).get("regions") or [])) - set(desired))
    return [{"region": r, "action": APPLY} for r in desired] + [{"region": r, "action": REMOVE} for r in stale]


def removal_targets(previous: dict[str, Any]) -> list[dict[str, str]]:
    """DELETE: every region the prefix is desired in or was ever left in by a finished rollout."""
    regions = set(deployed_regions(previous)) | set(previous.get("regions") or [])
    return [{"region": r, "action": REMOVE} for r in sorted(regions)]


def failures(results: list[dict[str, Any]]) -> int:
    return sum(1 for r in results if r.get("status") in FAILED_STATUSES)


def deployed_after(
    previous: dict[str, dict[str, Any]], results: list[dict[str, Any]], rollout_id: str
) -> dict[str, dict[str, Any]]:
    """Where the prefix is held once a (not rolled back) rollout's region results are in.

    A region applied holds the new secret version; a region removed holds nothing; a failed region was put back
    to its snapshot (the previous entry stands); a region whose undo failed may hold anything, so it stays tracked.
    """
    deployed = {region: dict(entry) for region, entry in previous.items()}
    for result in results:
        region, status = result["region"], result.get("status")
        if status == "SUCCEEDED" and result.get("action") == REMOVE:
            deployed.pop(region, None)
        elif status == "SUCCEEDED":
            secret = result.get("secret") or {}
            deployed[region] = {
                "secretArn": secret.get("secretArn"),
                "secretVersionId": secret.get("versionId"),
                "rolloutId": rollout_id,
            }
        elif status == "ROLLBACK_FAILED":
            deployed.setdefault(region, {"rolloutId": rollout_id})
    return deployed


def source_version(results: list[dict[str, Any]]) -> str | None:
    """The source secret version the rollout copied (every region copied the same one)."""
    for result in results:
        version = (result.get("secret") or {}).get("sourceVersionId")
        if version:
            return str(version)
    return None


# Shown as stored (absent ones as null).
VIEW_FIELDS = ("lastRolloutId", "lastRolloutStatus", "lastRolloutAt", "updatedAt", "drift", "driftCheckedAt")


def rule_view(item: dict[str, Any]) -> dict[str, Any]:
    """A rule item as the API shows it (pullthrough.api_schema.RuleView): the prefix, the desired fields, where it
    is deployed, its last rollout and drift check. No storage keys or bookkeeping (secret version ids)."""
    return {
        "prefix": item.get("sk"),
        "rule": item.get("rule"),
        "regions": list(item.get("regions") or []),
        "creationTemplate": item.get("creationTemplate"),
        "sourceSecretArn": item.get("sourceSecretArn"),
        "deployedRegions": sorted(deployed_regions(item)),
        **{key: item.get(key) for key in VIEW_FIELDS},
    }


def previous_rule(rollout: dict[str, Any]) -> dict[str, Any] | None:
    """The desired rule a rollout replaced, as recorded when it started."""
    recorded = rollout.get("previousRule")
    return json.loads(recorded) if recorded else None
