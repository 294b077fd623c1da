"""The drift sweep: compare each desired rule with what its regions hold, record and announce drift, or repair it.

Reads per region do not grow with the number of rules: one paginated DescribePullThroughCacheRules, one
DescribeRepositoryCreationTemplates (only where a desired rule has a template) and one ListSecrets on
``ecr-pullthroughcache/`` (only where a rule needs a secret, and in the source secrets' regions). Secret values are
never read: a regional secret counts as stale when its source secret changed after both the copy and the last
rollout's start (LastChangedDate). A password changed by hand in a region is invisible to the sweep.

Repair is a normal rollout of the desired rule to ALL its regions: ``Rollouts.start`` records the request's regions
as the rule's desired regions, so a rollout to the drifted regions alone would shrink the rule. Regions found in
sync cost the rollout only reads: every step compares before it writes.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field

from pullthrough import aws
from pullthrough import exceptions as ex
from pullthrough.adapters.ecr import EcrRegistry
from pullthrough.adapters.secret_listing import ListedSecret, SecretListing
from pullthrough.adapters.store import PrefixBusy
from pullthrough.models import Rule, RulePrefix, RuleRequest, parse_model
from pullthrough.observability import logger
from pullthrough.rollouts import Rollouts, now_iso
from pullthrough.secret_names import SECRET_PREFIX, arn_region, secret_name_for
from pullthrough.steps.template import PULL_THROUGH_CACHE, comparable_template

DRIFT_DETECTED = "Pull Through Cache Drift Detected"
Mode = Literal["report", "repair"]
MODES: tuple[str, ...] = ("report", "repair")
RULES, TEMPLATES, SECRETS = "rules", "templates", "secrets"  # what a region's read covers
CLOCK_SLACK = timedelta(seconds=1)  # rollout timestamps are kept to the second
MAX_REGION_READERS = 16


class SweepRequest(BaseModel):
    """An on-demand sweep: ``{"mode": "report"|"repair", "prefixes": [...]}``, both optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Mode | None = None
    prefixes: Annotated[list[RulePrefix], Field(min_length=1, max_length=1000)] | None = None


def parse_sweep_event(event: Any) -> SweepRequest:
    """A scheduled EventBridge event (content ignored) or an on-demand request; InvalidRequest naming the field."""
    if isinstance(event, dict) and "detail-type" in event and "source" in event:
        return SweepRequest()
    return parse_model(SweepRequest, event, what="drift sweep request")


def mode_from_env() -> Mode:
    """DRIFT_MODE: ``report`` (default) or ``repair``."""
    mode = os.environ.get("DRIFT_MODE") or "report"
    if mode in MODES:
        return cast(Mode, mode)
    raise ex.InvalidRequest(f"DRIFT_MODE must be one of {', '.join(MODES)}, not {mode!r}", field="DRIFT_MODE")


# What the regions hold
@dataclass(frozen=True)
class RegionState:
    """One region's rules and templates by prefix and secrets by name; None where not read."""

    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    templates: dict[str, dict[str, Any]] | None = None
    secrets: dict[str, ListedSecret] | None = None
    error: str | None = None


def read_region(region: str, reads: frozenset[str]) -> RegionState:
    """Read what ``reads`` asks for in ``region``: a bounded number of paginated calls, none per rule."""
    try:
        rules: dict[str, dict[str, Any]] = {}
        templates = secrets = None
        if RULES in reads or TEMPLATES in reads:
            ecr = EcrRegistry(aws.client("ecr", region))
            if RULES in reads:
                rules = {rule["ecrRepositoryPrefix"]: rule for rule in ecr.list_rules()}
            if TEMPLATES in reads:
                templates = ecr.list_templates()
        if SECRETS in reads:
            secrets = SecretListing(aws.client("secretsmanager", region)).list_secrets(SECRET_PREFIX)
    except ex.PullthroughError as error:
        return RegionState(error=f"{type(error).__name__}: {error.message}")
    return RegionState(rules, templates, secrets)


# What is desired
def _instant(stamp: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(stamp) if isinstance(stamp, str) else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Desired:
    """A desired rule item of the table, as the sweep needs it."""

    item: dict[str, Any]
    rule: Rule

    @classmethod
    def of(cls, item: dict[str, Any]) -> Desired:
        """The item's rule, validated; InvalidRequest when the item does not hold a usable rule."""
        desired = cls(item, parse_model(Rule, item.get("rule"), what=f"desired rule {item.get('sk')!r}"))
        if desired.source_arn:
            arn_region(desired.source_arn)
        return desired

    @property
    def prefix(self) -> str:
        return self.rule.ecrRepositoryPrefix

    @property
    def regions(self) -> list[str]:
        return list(self.item.get("regions", []))

    @property
    def template(self) -> dict[str, Any] | None:
        return self.item.get("creationTemplate")

    @property
    def source_arn(self) -> str | None:
        return self.item.get("sourceSecretArn")

    @property
    def rolled_out_since(self) -> datetime | None:
        """When the last rollout started (the desired item is written then)."""
        return _instant(self.item.get("updatedAt"))

    def reads(self) -> dict[str, set[str]]:
        """The reads each region must make to check this rule."""
        wanted = {RULES} | ({TEMPLATES} if self.template is not None else set())
        if self.rule.needs_secret:
            wanted.add(SECRETS)
        needs = {region: set(wanted) for region in self.regions}
        if self.rule.needs_secret and self.source_arn:
            needs.setdefault(arn_region(self.source_arn), set()).add(SECRETS)
        return needs

    def repair_request(self) -> RuleRequest:
        """The rule request that rolls this desired rule out again (``creationTemplate: null`` skips the step)."""
        rule = self.rule.model_dump(exclude_none=True)
        data = {
            **rule,
            "regions": self.regions,
            "creationTemplate": self.template,
            **({"credentialSecretArn": self.source_arn} if self.source_arn else {}),
        }
        return parse_model(RuleRequest, data, what=f"desired rule {self.prefix!r}")


# Comparison (pure)
def _entry(region: str, resource: str, kind: str, fields: Iterable[str] = ()) -> dict[str, Any]:
    return {"region": region, "resource": resource, "kind": kind, "fields": list(fields)}


def _url(value: Any) -> str | None:
    return str(value).removeprefix("https://").rstrip("/").lower() if value else None


def _names_secret(arn: str, region: str, name: str) -> bool:
    """Whether a full or partial secret ARN names secret ``name`` in ``region``."""
    parts = arn.split(":", 6)
    if len(parts) != 7 or parts[3] != region:
        return False
    secret_id = parts[6]
    return secret_id == name or (secret_id[:-7] == name and secret_id[-7] == "-")


def credential_arn_fits(arn: str | None, rule: Rule, region: str, secret: ListedSecret | None) -> bool:
    """Whether the rule's credentialArn points at the region's own ``ecr-pullthroughcache/<prefix>`` secret."""
    if not rule.needs_secret:
        return arn is None
    if not arn:
        return False
    if secret is not None:
        return arn == secret.arn or arn == secret.arn[:-7]
    return _names_secret(arn, region, secret_name_for(rule.ecrRepositoryPrefix))


def rule_differences(rule: Rule, actual: dict[str, Any], region: str, secret: ListedSecret | None) -> list[str]:
    """The fields in which the region's rule differs from the desired one."""
    want = rule.model_dump()
    differs = [
        name
        for name, normal in (
            ("upstreamRegistry", lambda v: v or None),
            ("upstreamRegistryUrl", _url),
            ("upstreamRepositoryPrefix", lambda v: v or "ROOT"),
            ("customRoleArn", lambda v: v or None),
        )
        if normal(actual.get(name)) != normal(want.get(name))
    ]
    if not credential_arn_fits(actual.get("credentialArn"), rule, region, secret):
        differs.append("credentialArn")
    return differs


def template_differences(desired: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """The fields in which the region's template differs, compared as ApplyTemplate does (ECR defaults filled in)."""
    wanted = {k: v for k, v in desired.items() if v not in (None, "", [])}
    wanted["appliedFor"] = sorted(set(actual.get("appliedFor", [])) | {PULL_THROUGH_CACHE})
    have, want = comparable_template(actual), comparable_template(wanted)
    return sorted(k for k in have.keys() | want.keys() if have.get(k) != want.get(k))


def secret_is_stale(regional: ListedSecret, source: ListedSecret | None, rolled_out: datetime | None) -> bool:
    """Whether the source secret changed after the regional copy and after the last rollout started."""
    if source is None or source.last_changed is None or regional.last_changed is None:
        return False
    floor = regional.last_changed
    if rolled_out is not None:
        floor = max(floor, rolled_out + CLOCK_SLACK)
    return source.last_changed > floor


def region_drift(
    desired: Desired, region: str, state: RegionState, source: ListedSecret | None = None
) -> list[dict[str, Any]]:
    """Drift of one desired rule in one region: rule, then secret, then template."""
    prefix, rule = desired.prefix, desired.rule
    found: list[dict[str, Any]] = []
    secret = None
    if rule.needs_secret:
        secret = (state.secrets or {}).get(secret_name_for(prefix))
        if secret is None:
            found.append(_entry(region, "secret", "missing"))
        elif secret_is_stale(secret, source, desired.rolled_out_since):
            found.append(_entry(region, "secret", "differs", ["LastChangedDate"]))
    actual = state.rules.get(prefix)
    if actual is None:
        found.insert(0, _entry(region, "rule", "missing"))
    elif differs := rule_differences(rule, actual, region, secret):
        found.insert(0, _entry(region, "rule", "differs", differs))
    if desired.template is not None:
        template = (state.templates or {}).get(prefix)
        if template is None:
            found.append(_entry(region, "template", "missing"))
        elif differs := template_differences(desired.template, template):
            found.append(_entry(region, "template", "differs", differs))
    return found


def drift_report(
    desired: Desired, states: dict[str, RegionState], sources: dict[str, ListedSecret], checked_at: str
) -> dict[str, Any]:
    """The drift report of one desired rule across its regions."""
    source = sources.get(desired.source_arn or "") if desired.rule.needs_secret else None
    drift: list[dict[str, Any]] = []
    unchecked: list[dict[str, str]] = []
    for region in desired.regions:
        state = states[region]
        if state.error is not None:
            unchecked.append({"region": region, "error": state.error})
        else:
            drift.extend(region_drift(desired, region, state, source))
    report: dict[str, Any] = {
        "prefix": desired.prefix,
        "checkedAt": checked_at,
        "inSync": not drift and not unchecked,
        "drift": drift,
    }
    if unchecked:
        report["unchecked"] = unchecked
    return report


def _by_arn(secrets: Iterable[ListedSecret]) -> dict[str, ListedSecret]:
    """Secrets by full ARN and by partial ARN (without Secrets Manager's 6-character suffix)."""
    index: dict[str, ListedSecret] = {}
    for secret in secrets:
        index[secret.arn] = index[secret.arn[:-7]] = secret
    return index


# The sweep
@dataclass
class DriftSweep:
    """Checks desired rules against their regions; records drift on the rule, emits it, and repairs on request."""

    rollouts: Rollouts
    read: Callable[[str, frozenset[str]], RegionState] = read_region

    def run(self, mode: Mode, prefixes: list[str] | None = None) -> dict[str, Any]:
        """Sweep every desired rule (or those of ``prefixes``); the summary of what was found and started."""
        checked_at, sweep_id = now_iso(), uuid.uuid4().hex
        skipped: list[dict[str, Any]] = []
        desired = self._desired(prefixes, skipped)
        to_check = []
        for one in desired:
            if running := self._running_rollout(one):
                skipped.append({"prefix": one.prefix, "reason": "a rollout is in progress", "rolloutId": running})
            else:
                to_check.append(one)
        states = self._read_regions(to_check)
        sources = _by_arn(s for state in states.values() for s in (state.secrets or {}).values())
        reports, repairs, errors = [], [], []
        for one in to_check:
            report = drift_report(one, states, sources, checked_at)
            if report["drift"] and mode == "repair":
                report["repair"] = self._repair(one, sweep_id)
                if report["repair"]["status"] == "STARTED":
                    repairs.append({"prefix": one.prefix, "rolloutId": report["repair"]["rolloutId"]})
                else:
                    skipped.append({"prefix": one.prefix, **report["repair"]})
            try:
                self._publish(report)
            except ex.PullthroughError as error:  # keep sweeping: the other prefixes' results still count
                logger.exception("drift report not recorded", extra={"prefix": one.prefix})
                errors.append({"prefix": one.prefix, "error": f"{type(error).__name__}: {error.message}"})
            reports.append(report)
        return {
            "mode": mode,
            "checkedAt": checked_at,
            "checkedRegions": sorted(r for r, s in states.items() if s.error is None),
            "unreadableRegions": {r: s.error for r, s in sorted(states.items()) if s.error is not None},
            "prefixes": reports,
            "drifted": [r["prefix"] for r in reports if r["drift"]],
            "repairsStarted": repairs,
            "skipped": skipped,
            **({"errors": errors} if errors else {}),
        }

    def _desired(self, prefixes: list[str] | None, skipped: list[dict[str, Any]]) -> list[Desired]:
        items = self.rollouts.store.list_rules()
        if prefixes is not None:
            unknown = sorted(set(prefixes) - {item["sk"] for item in items})
            if unknown:
                raise ex.InvalidRequest(f"no desired rule for {', '.join(unknown)}", field="prefixes")
            items = [item for item in items if item["sk"] in prefixes]
        desired = []
        for item in items:
            try:
                desired.append(Desired.of(item))
            except ex.InvalidRequest as bad:
                skipped.append({"prefix": item["sk"], "reason": f"the desired rule is unreadable: {bad.message}"})
        return desired

    def _running_rollout(self, desired: Desired) -> str | None:
        """The rollout (APPLY or DELETE) running on the rule, if any: its resources are in flux, not drifted."""
        # Start stamps updatedAt; finish stamps lastRolloutAt and releases the lock. Only ask the lock when unsure.
        item = desired.item
        started, finished = _instant(item.get("updatedAt")), _instant(item.get("lastRolloutAt"))
        if started and finished and finished > started and "lastRolloutStatus" in item:
            return None
        holder = self.rollouts.store.lock_holder(desired.prefix)
        if holder is None or self.rollouts.require_executions().status(holder) != "RUNNING":
            return None  # free, or held by a dead execution: the next rollout takes such a lock over
        return holder

    def _read_regions(self, desired: list[Desired]) -> dict[str, RegionState]:
        needs: dict[str, set[str]] = {}
        for one in desired:
            for region, reads in one.reads().items():
                needs.setdefault(region, set()).update(reads)
        if not needs:
            return {}
        with ThreadPoolExecutor(max_workers=min(MAX_REGION_READERS, len(needs))) as pool:
            states = pool.map(lambda region: self.read(region, frozenset(needs[region])), needs)
            return dict(zip(needs, states, strict=True))

    def _repair(self, desired: Desired, sweep_id: str) -> dict[str, Any]:
        # Its own idempotency key: a user's identical request (or an earlier repair) must not stand in for it.
        key = f"drift-repair:{sweep_id}:{desired.prefix}"
        try:
            started = self.rollouts.start(desired.repair_request(), idempotency_key=key)
        except PrefixBusy as busy:
            return {"status": "SKIPPED", "reason": "the prefix is busy", "rolloutId": busy.rollout_id}
        except ex.PullthroughError as error:
            logger.warning("repair not started", extra={"prefix": desired.prefix, "error": error.message})
            return {"status": "FAILED", "reason": f"{type(error).__name__}: {error.message}"}
        return {"status": "STARTED", "rolloutId": started["rolloutId"]}

    def _publish(self, report: dict[str, Any]) -> None:
        """Record the report on the desired rule; emit it when the rule drifted."""
        self.rollouts.store.update_rule(report["prefix"], drift=report, driftCheckedAt=report["checkedAt"])
        if report["drift"]:
            logger.warning("drift found", extra={"prefix": report["prefix"], "drift": report["drift"]})
            if self.rollouts.events is not None:
                self.rollouts.events.emit(DRIFT_DETECTED, report)
