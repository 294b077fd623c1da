"""Drift as pure functions: a desired rule and what its targets (account, region) hold in, findings in plain words
out. No AWS. A finding in the home account is said as before ("eu-west-1: rule missing"); one in another account
names it ("111122223333 eu-west-1: rule missing").

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
from pullthrough.desired import Target
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
    account: str | None = None  # None: the home account

    def record(self) -> dict[str, Any]:
        """The finding as the report's ``drift`` (the home account's findings) carries it."""
        return {
            "region": self.region,
            "resource": self.resource,
            "kind": self.kind,
            "fields": list(self.fields),
            "message": self.message,
        }

    def target_record(self, home: str) -> dict[str, Any]:
        """The finding as the report's ``targets`` (every account's findings) carries it: its account too."""
        return {"account": self.account or home, **self.record()}


def where(region: str, account: str | None) -> str:
    """How a finding names its target: the region in the home account (None), else the account and the region."""
    return region if account is None else f"{account} {region}"


def _differs(region: str, resource: str, differences: list[Difference], account: str | None = None) -> list[Finding]:
    if not differences:
        return []
    said = "; ".join(map(str, differences))
    fields = tuple(d.field for d in differences)
    message = f"{where(region, account)}: {resource} differs: {said}"
    return [Finding(region, resource, "differs", message, fields, account)]


def _missing(region: str, resource: str, account: str | None = None) -> list[Finding]:
    return [Finding(region, resource, "missing", f"{where(region, account)}: {resource} missing", (), account)]


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
    region: str,
    rule: Rule,
    actual: Mapping[str, Any] | None,
    secret: ListedSecret | None,
    account: str | None = None,
) -> list[Finding]:
    """``rule missing`` or ``rule differs: <field> <have>, want <want>``."""
    if actual is None:
        return _missing(region, "rule", account)
    return _differs(region, "rule", rule_differences(rule, actual, region, secret), account)


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


def template_findings(
    region: str, desired: Mapping[str, Any], actual: Mapping[str, Any] | None, account: str | None = None
) -> list[Finding]:
    """``template missing`` or ``template differs: imageTagMutability IMMUTABLE, want MUTABLE``."""
    if actual is None:
        return _missing(region, "template", account)
    return _differs(region, "template", template_differences(desired, actual), account)


# Secrets
def secret_findings(
    region: str, listed: ListedSecret | None, deployed: Deployed | None, account: str | None = None
) -> list[Finding]:
    """The region's secret against what the last rollout left: missing, replaced, or its value changed since.

    Without a recorded version (a rule recorded before versions were kept) only a missing secret is found.
    """
    if listed is None:
        return _missing(region, "secret", account)
    if deployed is None or deployed.secretVersionId is None:
        return []
    if deployed.secretArn and not names_secret(deployed.secretArn, listed.arn):
        message = f"{where(region, account)}: secret deleted and created again outside pullthrough"
        return [Finding(region, "secret", "replaced", message, ("ARN",), account)]
    if listed.current_version != deployed.secretVersionId:
        message = f"{where(region, account)}: secret value changed outside pullthrough"
        return [Finding(region, "secret", "changed", message, ("versionId",), account)]
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


def undesired_region_findings(
    region: str, prefix: str, inventory: RegionInventory, account: str | None = None
) -> list[Finding]:
    """A target outside the desired ones that still holds anything for the prefix: a region no longer desired, or
    (in another account) an account or region no longer desired."""
    held = held_resources(prefix, inventory)
    if not held:
        return []
    what = "region" if account is None else "target"
    message = f"{where(region, account)}: holds the prefix but is not a desired {what} ({', '.join(held)})"
    return [Finding(region, "region", "notDesired", message, tuple(held), account)]


def desired_region_findings(desired: Desired, target: Target, inventory: RegionInventory) -> list[Finding]:
    """One desired target: rule, then secret, then template."""
    prefix, rule = desired.prefix, desired.rule
    region, account = target[1], _named(desired, target)
    secret = None
    secret_part: list[Finding] = []
    if rule.needs_secret:
        secret = (inventory.secrets or {}).get(secret_name_for(prefix))
        secret_part = secret_findings(region, secret, desired.deployed.get(target), account)
    template_part = []
    if desired.template is not None:
        template_part = template_findings(region, desired.template, (inventory.templates or {}).get(prefix), account)
    return [
        *rule_findings(region, rule, (inventory.rules or {}).get(prefix), secret, account),
        *secret_part,
        *template_part,
    ]


def _named(desired: Desired, target: Target) -> str | None:
    """The target's account as findings name it: None for the home account."""
    return None if target[0] == desired.home else target[0]


def findings(
    desired: Desired, inventories: Mapping[Target, RegionInventory]
) -> tuple[list[Finding], dict[Target, str]]:
    """Every finding for one desired rule (desired targets in order, then the others, then the source secret) and
    the targets that could not be read, with why."""
    found: list[Finding] = []
    unreadable: dict[Target, str] = {}

    def readable(target: Target) -> RegionInventory | None:
        inventory = inventories.get(target) or RegionInventory(error="not read")
        if inventory.error is None:
            return inventory
        unreadable[target] = inventory.error
        return None

    for target in desired.targets:
        if (inventory := readable(target)) is not None:
            found.extend(desired_region_findings(desired, target, inventory))
    for target in desired.undesired_targets:
        if (inventory := readable(target)) is not None:
            found.extend(undesired_region_findings(target[1], desired.prefix, inventory, _named(desired, target)))
    source, home = desired.source_arn, desired.source_region
    if source and home and (inventory := readable((desired.home, home))) is not None:
        found.extend(source_findings(home, source, inventory.secrets or {}, desired.source_version))
    return found, unreadable


def drift_report(desired: Desired, inventories: Mapping[Target, RegionInventory], checked_at: str) -> dict[str, Any]:
    """The drift report of one desired rule, as recorded on the rule and emitted.

    ``targets`` lists every finding with its account (account, region, resource, kind, fields, message);
    ``uncheckedTargets`` the targets that could not be read. ``drift`` and ``unchecked`` say the same of the home
    account alone, in the shape they had before rules reached other accounts (region, no account). ``inSync``: no
    finding and no unreadable target in any account.
    """
    found, unreadable = findings(desired, inventories)
    home = desired.home
    report: dict[str, Any] = {
        "prefix": desired.prefix,
        "checkedAt": checked_at,
        "inSync": not found and not unreadable,
        "drift": [finding.record() for finding in found if finding.account is None],
        "targets": [finding.target_record(home) for finding in found],
    }
    if any(account == home for account, _ in unreadable):
        report["unchecked"] = [{"region": r, "error": e} for (a, r), e in unreadable.items() if a == home]
    if unreadable:
        report["uncheckedTargets"] = [{"account": a, "region": r, "error": e} for (a, r), e in unreadable.items()]
    return report
