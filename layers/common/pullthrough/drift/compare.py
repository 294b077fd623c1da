"""Drift as pure functions: a desired rule and what its regions hold in, findings in plain words out. No AWS.

A regional secret is compared by its AWSCURRENT version id with the one the last rollout left there, the source
secret by its AWSCURRENT version id with the one that rollout copied: a value is never read, so a value changed and
changed back still counts (its version differs), and nothing is said where no version was recorded.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from pullthrough.adapters.secret_listing import ListedSecret
from pullthrough.drift.desired import Deployed, Desired
from pullthrough.drift.inventory import RegionInventory
from pullthrough.models import Rule
from pullthrough.secret_names import secret_name_for
from pullthrough.steps.template import PULL_THROUGH_CACHE, comparable_template

MAX_SHOWN = 100  # longer values (policy documents) are named, not quoted
_ARN_SUFFIX = 7  # Secrets Manager's "-" and 6 characters at the end of a full secret ARN


class Difference(NamedTuple):
    """One field that differs: what the region holds and what is wanted (both as compared)."""

    field: str
    have: Any
    want: Any

    def __str__(self) -> str:
        have, want = _shown(self.have), _shown(self.want)
        if len(have) > MAX_SHOWN or len(want) > MAX_SHOWN:
            return f"{self.field} changed"
        return f"{self.field} {have}, want {want}"


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class Finding:
    """One thing that is not as pullthrough left it, and the sentence that says so."""

    region: str
    resource: str  # rule | template | secret | sourceSecret | region
    kind: str  # missing | differs | changed | replaced | notDesired
    message: str
    fields: tuple[str, ...] = ()

    def record(self) -> dict[str, Any]:
        """The finding as reports, the desired rule's ``drift`` and the Drift Detected event carry it."""
        return {
            "region": self.region,
            "resource": self.resource,
            "kind": self.kind,
            "fields": list(self.fields),
            "message": self.message,
        }


def _differs(region: str, resource: str, differences: list[Difference]) -> list[Finding]:
    if not differences:
        return []
    said = "; ".join(map(str, differences))
    fields = tuple(d.field for d in differences)
    return [Finding(region, resource, "differs", f"{region}: {resource} differs: {said}", fields)]


def _missing(region: str, resource: str) -> list[Finding]:
    return [Finding(region, resource, "missing", f"{region}: {resource} missing")]


def names_secret(arn: str, listed_arn: str) -> bool:
    """Whether ``arn`` (full, or partial without the 6-character suffix) names the listed secret."""
    return arn in (listed_arn, listed_arn[:-_ARN_SUFFIX])


def _names_secret_in(arn: str, region: str, name: str) -> bool:
    """Whether a full or partial secret ARN names secret ``name`` in ``region``."""
    parts = arn.split(":", 6)
    if len(parts) != 7 or parts[3] != region:
        return False
    secret_id = parts[6]
    return secret_id == name or (secret_id[:-_ARN_SUFFIX] == name and secret_id[-_ARN_SUFFIX] == "-")


# Rules
def _url(value: Any) -> str | None:
    return str(value).removeprefix("https://").rstrip("/").lower() if value else None


_RULE_FIELDS: tuple[tuple[str, Callable[[Any], Any]], ...] = (
    ("upstreamRegistry", lambda v: v or None),
    ("upstreamRegistryUrl", _url),
    ("upstreamRepositoryPrefix", lambda v: v or "ROOT"),
    ("customRoleArn", lambda v: v or None),
)


def credential_arn_fits(arn: str | None, rule: Rule, region: str, secret: ListedSecret | None) -> bool:
    """Whether the rule's credentialArn points at the region's own ``ecr-pullthroughcache/<prefix>`` secret."""
    if not rule.needs_secret:
        return arn is None
    if not arn:
        return False
    if secret is not None:
        return names_secret(arn, secret.arn)
    return _names_secret_in(arn, region, secret_name_for(rule.ecrRepositoryPrefix))


def rule_differences(
    rule: Rule, actual: Mapping[str, Any], region: str, secret: ListedSecret | None
) -> list[Difference]:
    """The fields in which the region's rule differs from the desired one (ECR's spellings of defaults allowed)."""
    want = rule.model_dump()
    differences = [
        Difference(name, normal(actual.get(name)), normal(want.get(name)))
        for name, normal in _RULE_FIELDS
        if normal(actual.get(name)) != normal(want.get(name))
    ]
    arn = actual.get("credentialArn")
    if not credential_arn_fits(arn, rule, region, secret):
        wanted = (secret.arn if secret else secret_name_for(rule.ecrRepositoryPrefix)) if rule.needs_secret else None
        differences.append(Difference("credentialArn", arn, wanted))
    return differences


def rule_findings(
    region: str, rule: Rule, actual: Mapping[str, Any] | None, secret: ListedSecret | None
) -> list[Finding]:
    """``rule missing`` or ``rule differs: <field> <have>, want <want>``."""
    if actual is None:
        return _missing(region, "rule")
    return _differs(region, "rule", rule_differences(rule, actual, region, secret))


# Templates
def template_differences(desired: Mapping[str, Any], actual: Mapping[str, Any]) -> list[Difference]:
    """The fields in which the region's template differs, compared as ApplyTemplate does (ECR defaults filled in).

    Other uses of the template (appliedFor) are the region's own: only a missing PULL_THROUGH_CACHE counts.
    """
    wanted = {k: v for k, v in desired.items() if v not in (None, "", [])}
    wanted["appliedFor"] = sorted(set(actual.get("appliedFor", [])) | {PULL_THROUGH_CACHE})
    have, want = comparable_template(dict(actual)), comparable_template(wanted)
    return [
        Difference(k, have.get(k), want.get(k)) for k in sorted(have.keys() | want.keys()) if have.get(k) != want.get(k)
    ]


def template_findings(region: str, desired: Mapping[str, Any], actual: Mapping[str, Any] | None) -> list[Finding]:
    """``template missing`` or ``template differs: imageTagMutability IMMUTABLE, want MUTABLE``."""
    if actual is None:
        return _missing(region, "template")
    return _differs(region, "template", template_differences(desired, actual))


# Secrets
def secret_findings(region: str, listed: ListedSecret | None, deployed: Deployed | None) -> list[Finding]:
    """The region's secret against what the last rollout left: missing, replaced, or its value changed since.

    Without a recorded version (a rule recorded before versions were kept) only a missing secret is found.
    """
    if listed is None:
        return _missing(region, "secret")
    if deployed is None or deployed.secretVersionId is None:
        return []
    if deployed.secretArn and not names_secret(deployed.secretArn, listed.arn):
        message = f"{region}: secret deleted and created again outside pullthrough"
        return [Finding(region, "secret", "replaced", message, ("ARN",))]
    if listed.current_version != deployed.secretVersionId:
        message = f"{region}: secret value changed outside pullthrough"
        return [Finding(region, "secret", "changed", message, ("versionId",))]
    return []


def source_findings(
    region: str, arn: str, secrets: Mapping[str, ListedSecret], recorded_version: str | None
) -> list[Finding]:
    """The home-region source secret against the version the last successful rollout copied."""
    if recorded_version is None:
        return []
    listed = next((s for s in secrets.values() if names_secret(arn, s.arn)), None)
    if listed is None:
        return [Finding(region, "sourceSecret", "missing", f"source secret missing: {arn}")]
    if listed.current_version != recorded_version:
        return [
            Finding(region, "sourceSecret", "changed", "source secret changed since the last rollout", ("versionId",))
        ]
    return []


# Regions
def held_resources(prefix: str, inventory: RegionInventory) -> list[str]:
    """What a region holds for the prefix: its rule, a template used for PULL_THROUGH_CACHE, its secret."""
    held = []
    if prefix in (inventory.rules or {}):
        held.append("rule")
    template = (inventory.templates or {}).get(prefix)
    if template is not None and PULL_THROUGH_CACHE in template.get("appliedFor", []):
        held.append("template")
    if secret_name_for(prefix) in (inventory.secrets or {}):
        held.append("secret")
    return held


def undesired_region_findings(region: str, prefix: str, inventory: RegionInventory) -> list[Finding]:
    """A region outside the desired ones that still holds anything for the prefix."""
    held = held_resources(prefix, inventory)
    if not held:
        return []
    message = f"{region}: holds the prefix but is not a desired region ({', '.join(held)})"
    return [Finding(region, "region", "notDesired", message, tuple(held))]


def desired_region_findings(desired: Desired, region: str, inventory: RegionInventory) -> list[Finding]:
    """One desired region: rule, then secret, then template."""
    prefix, rule = desired.prefix, desired.rule
    secret = None
    secret_part: list[Finding] = []
    if rule.needs_secret:
        secret = (inventory.secrets or {}).get(secret_name_for(prefix))
        secret_part = secret_findings(region, secret, desired.deployed.get(region))
    template_part = []
    if desired.template is not None:
        template_part = template_findings(region, desired.template, (inventory.templates or {}).get(prefix))
    return [
        *rule_findings(region, rule, (inventory.rules or {}).get(prefix), secret),
        *secret_part,
        *template_part,
    ]


def findings(desired: Desired, inventories: Mapping[str, RegionInventory]) -> tuple[list[Finding], dict[str, str]]:
    """Every finding for one desired rule (desired regions in order, then the others, then the source secret) and
    the regions that could not be read, with why."""
    found: list[Finding] = []
    unreadable: dict[str, str] = {}

    def readable(region: str) -> RegionInventory | None:
        inventory = inventories.get(region) or RegionInventory(error="not read")
        if inventory.error is None:
            return inventory
        unreadable[region] = inventory.error
        return None

    for region in desired.regions:
        if (inventory := readable(region)) is not None:
            found.extend(desired_region_findings(desired, region, inventory))
    for region in desired.undesired_regions:
        if (inventory := readable(region)) is not None:
            found.extend(undesired_region_findings(region, desired.prefix, inventory))
    source, home = desired.source_arn, desired.source_region
    if source and home and (inventory := readable(home)) is not None:
        found.extend(source_findings(home, source, inventory.secrets or {}, desired.source_version))
    return found, unreadable


def drift_report(desired: Desired, inventories: Mapping[str, RegionInventory], checked_at: str) -> dict[str, Any]:
    """The drift report of one desired rule, as recorded on the rule and emitted: ``drift`` lists each finding
    (region, resource, kind, fields, message); ``unchecked`` the regions that could not be read."""
    found, unreadable = findings(desired, inventories)
    report: dict[str, Any] = {
        "prefix": desired.prefix,
        "checkedAt": checked_at,
        "inSync": not found and not unreadable,
        "drift": [finding.record() for finding in found],
    }
    if unreadable:
        report["unchecked"] = [{"region": region, "error": error} for region, error in unreadable.items()]
    return report
