"""The sweep: read every target (account, region) the desired rules concern, compare, then record, announce and repair.

Reads go target by target (``inventory``), never rule by rule; the comparison is pure (``compare``); the writes are
the report on each rule, its event, and in repair mode a normal rollout per drifted rule (``outcome``). An account
whose execution role cannot be assumed is unreadable (its targets unchecked), not a failed sweep.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pullthrough import exceptions as ex
from pullthrough.aws import MAX_POOL_CONNECTIONS
from pullthrough.desired import Target
from pullthrough.drift.compare import drift_report
from pullthrough.drift.desired import Desired
from pullthrough.drift.health import (
    Validator,
    announce_expiries,
    check_health,
    credential_expiries,
    health_changed,
    validate_in,
)
from pullthrough.drift.inventory import RegionInventory, read_inventory
from pullthrough.drift.outcome import record_report, start_repair
from pullthrough.drift.request import Mode
from pullthrough.expiry import WARNING_DAYS
from pullthrough.observability import logger
from pullthrough.rollouts.deps import Deps, now_iso
from pullthrough.targets import requested_accounts

MAX_TARGET_READERS = 16
# Every changed report at once (one write's latency, not one per 10 rules): as many as the table client's pool holds.
MAX_REPORT_WRITERS = MAX_POOL_CONNECTIONS


def _instant(stamp: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(stamp) if isinstance(stamp, str) else None
    except ValueError:
        return None


def target_reads(desired: list[Desired]) -> dict[Target, frozenset[str]]:
    """What each target must be read for, merged over the rules: one read per target whatever the rule count."""
    needs: dict[Target, set[str]] = {}
    for one in desired:
        for target, reads in one.reads().items():
            needs.setdefault(target, set()).update(reads)
    return {target: frozenset(reads) for target, reads in needs.items()}


Reader = Callable[[str, frozenset[str], str | None], RegionInventory]  # (region, reads, account or None: home)


@dataclass
class DriftSweep:
    """Checks desired rules against their targets; records drift on the rule, emits it, and repairs on request."""

    deps: Deps
    read: Reader = read_inventory
    validate: Validator = validate_in  # ECR's verdict on each target's rule (pullthrough.drift.health)
    expiry_warning_days: int = WARNING_DAYS  # Credential Expiring once a known expiry is this close

    def run(self, mode: Mode, prefixes: list[str] | None = None) -> dict[str, Any]:
        """Sweep every desired rule (or those of ``prefixes``); the summary of what was found and started."""
        checked_at, sweep_id = now_iso(), uuid.uuid4().hex
        skipped: list[dict[str, Any]] = []
        to_check = []
        for one in self._desired(prefixes, skipped):
            if running := self._running_rollout(one):
                skipped.append({"prefix": one.prefix, "reason": "a rollout is in progress", "rolloutId": running})
            else:
                to_check.append(one)
        home = self.deps.home_account
        inventories = self._read_targets(target_reads(to_check), home)
        reports, repairs = [], []
        for one in to_check:
            report = drift_report(one, inventories, checked_at)
            if report["targets"] and mode == "repair":
                report["repair"] = start_repair(self.deps, one, sweep_id)
                if report["repair"]["status"] == "STARTED":
                    repairs.append({"prefix": one.prefix, "rolloutId": report["repair"]["rolloutId"]})
                else:
                    skipped.append({"prefix": one.prefix, **report["repair"]})
            reports.append(report)
        health = check_health(to_check, inventories, self.validate, checked_at)
        errors = self._record(to_check, reports, health)
        expiries = credential_expiries(to_check, inventories)
        announce_expiries(self.deps, to_check, expiries, self.expiry_warning_days)
        return {
            "mode": mode,
            "checkedAt": checked_at,
            # The home account's regions, as before rules reached other accounts; then every account's targets.
            "checkedRegions": sorted(r for (a, r), s in inventories.items() if a == home and s.error is None),
            "unreadableRegions": {r: s.error for (a, r), s in sorted(inventories.items()) if a == home and s.error},
            **_by_target(inventories),
            "prefixes": reports,
            "drifted": [r["prefix"] for r in reports if r["targets"]],
            "repairsStarted": repairs,
            "skipped": skipped,
            "health": health,
            "credentials": expiries,
            **({"errors": errors} if errors else {}),
        }

    def _record(
        self, checked: list[Desired], reports: list[dict[str, Any]], health: dict[str, dict[str, Any]]
    ) -> list[dict[str, str]]:
        """Record every report, all at once (written one after another, or 10 at a time, the writes made the sweep's
        time grow with the rules); the errors of those that could not be, the others recorded all the same."""

        def record(one: Desired, report: dict[str, Any]) -> dict[str, str] | None:
            try:
                new_health = health.get(one.prefix)
                changed = new_health if health_changed(one.item.get("health"), new_health) else None
                record_report(self.deps, report, one.item.get("drift"), changed)
            except ex.PullthroughError as error:  # keep sweeping: the other prefixes' results still count
                logger.exception("drift report not recorded", extra={"prefix": one.prefix})
                return {"prefix": one.prefix, "error": f"{type(error).__name__}: {error.message}"}
            return None

        if not checked:
            return []
        with ThreadPoolExecutor(max_workers=min(MAX_REPORT_WRITERS, len(checked))) as pool:
            return [e for e in pool.map(record, checked, reports) if e is not None]

    def _desired(self, prefixes: list[str] | None, skipped: list[dict[str, Any]]) -> list[Desired]:
        items = self.deps.store.list_rules()
        if prefixes is not None:
            unknown = sorted(set(prefixes) - {item["sk"] for item in items})
            if unknown:
                raise ex.InvalidRequest(f"no desired rule for {', '.join(unknown)}", field="prefixes")
            items = [item for item in items if item["sk"] in prefixes]
        desired = []
        home = self.deps.home_account
        for item in items:
            try:
                desired.append(self._members_now(Desired.of(item, home)))
            except ex.InvalidRequest as bad:
                skipped.append({"prefix": item["sk"], "reason": f"the desired rule is unreadable: {bad.message}"})
            except ex.PullthroughError as failed:
                reason = f"its organizational units could not be read: {type(failed).__name__}: {failed.message}"
                skipped.append({"prefix": item["sk"], "reason": reason})
        return desired

    def _members_now(self, desired: Desired) -> Desired:
        """A rule that targets organizational units, desired in their accounts as they are now, not as its last
        rollout expanded them: an account that joined while its event was lost is checked (its targets found
        missing, and repaired), one that left is found holding what it should not (unless the rule retains it)."""
        organization = self.deps.organization
        if not desired.fields.organizationalUnits or organization is None:
            return desired
        now = requested_accounts(desired.repair_request(), desired.home, organization)
        if desired.fields.retainOnAccountRemoval:
            now = sorted(set(now) | set(desired.accounts))
        if now == sorted(desired.accounts):
            return desired
        return Desired.of(desired.item | {"targetAccounts": now}, desired.home)

    def _running_rollout(self, desired: Desired) -> str | None:
        """The rollout (APPLY or DELETE) running on the rule, if any: its resources are in flux, not drifted."""
        # Start stamps updatedAt; finish stamps lastRolloutAt and releases the lock. Only ask the lock when unsure.
        item = desired.item
        started, finished = _instant(item.get("updatedAt")), _instant(item.get("lastRolloutAt"))
        if started and finished and finished > started and "lastRolloutStatus" in item:
            return None
        holder = self.deps.store.lock_holder(desired.prefix)
        if holder is None or self.deps.require_executions().status(holder) != "RUNNING":
            return None  # free, or held by a dead execution: the next rollout takes such a lock over
        return holder

    def _read_targets(self, needs: dict[Target, frozenset[str]], home: str) -> dict[Target, RegionInventory]:
        """Read every target, concurrently. One target of each other account first: an account whose execution
        role cannot be assumed is not asked again for each of its regions, they are all unreadable for that reason."""
        first: dict[str, Target] = {}
        for account, region in needs:
            if account != home:
                first.setdefault(account, (account, region))
        inventories = self._read_all(list(first.values()), needs, home)
        refused = {
            account: inventories[target] for account, target in first.items() if inventories[target].role_unavailable
        }
        rest = [target for target in needs if target not in inventories and target[0] not in refused]
        inventories.update(self._read_all(rest, needs, home))
        return {target: inventories.get(target) or refused[target[0]] for target in needs}

    def _read_all(
        self, targets: list[Target], needs: dict[Target, frozenset[str]], home: str
    ) -> dict[Target, RegionInventory]:
        if not targets:
            return {}

        def read(target: Target) -> RegionInventory:
            account, region = target
            return self.read(region, needs[target], None if account == home else account)

        with ThreadPoolExecutor(max_workers=min(MAX_TARGET_READERS, len(targets))) as pool:
            return dict(zip(targets, pool.map(read, targets), strict=True))


def _by_target(inventories: dict[Target, RegionInventory]) -> dict[str, Any]:
    """How many targets were read; those that could not be, by account when its execution role could not be
    assumed (``unreadableAccounts``), else one by one (``unreadableTargets``)."""
    accounts = {a: s.error for (a, _), s in sorted(inventories.items()) if s.role_unavailable}
    return {
        "checkedTargets": sum(1 for s in inventories.values() if s.error is None),
        "unreadableAccounts": accounts,
        "unreadableTargets": [
            {"account": a, "region": r, "error": s.error}
            for (a, r), s in sorted(inventories.items())
            if s.error is not None and a not in accounts
        ],
    }
