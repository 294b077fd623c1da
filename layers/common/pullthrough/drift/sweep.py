"""The sweep: read every region the desired rules concern, compare, then record, announce and repair.

Reads go region by region (``inventory``), never rule by rule; the comparison is pure (``compare``); the writes are
the report on each rule, its event, and in repair mode a normal rollout per drifted rule (``outcome``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pullthrough import exceptions as ex
from pullthrough.drift.compare import drift_report
from pullthrough.drift.desired import Desired
from pullthrough.drift.inventory import RegionInventory, read_inventory
from pullthrough.drift.outcome import record_report, start_repair
from pullthrough.drift.request import Mode
from pullthrough.observability import logger
from pullthrough.rollouts import Rollouts, now_iso

MAX_REGION_READERS = 16
MAX_REPORT_WRITERS = 10  # botocore's connection pool per client: more threads would only queue for it


def _instant(stamp: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(stamp) if isinstance(stamp, str) else None
    except ValueError:
        return None


def region_reads(desired: list[Desired]) -> dict[str, frozenset[str]]:
    """What each region must be read for, merged over the rules: one read per region whatever the rule count."""
    needs: dict[str, set[str]] = {}
    for one in desired:
        for region, reads in one.reads().items():
            needs.setdefault(region, set()).update(reads)
    return {region: frozenset(reads) for region, reads in needs.items()}


@dataclass
class DriftSweep:
    """Checks desired rules against their regions; records drift on the rule, emits it, and repairs on request."""

    rollouts: Rollouts
    read: Callable[[str, frozenset[str]], RegionInventory] = read_inventory

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
        inventories = self._read_regions(region_reads(to_check))
        reports, repairs = [], []
        for one in to_check:
            report = drift_report(one, inventories, checked_at)
            if report["drift"] and mode == "repair":
                report["repair"] = start_repair(self.rollouts, one, sweep_id)
                if report["repair"]["status"] == "STARTED":
                    repairs.append({"prefix": one.prefix, "rolloutId": report["repair"]["rolloutId"]})
                else:
                    skipped.append({"prefix": one.prefix, **report["repair"]})
            reports.append(report)
        errors = self._record(to_check, reports)
        return {
            "mode": mode,
            "checkedAt": checked_at,
            "checkedRegions": sorted(r for r, s in inventories.items() if s.error is None),
            "unreadableRegions": {r: s.error for r, s in sorted(inventories.items()) if s.error is not None},
            "prefixes": reports,
            "drifted": [r["prefix"] for r in reports if r["drift"]],
            "repairsStarted": repairs,
            "skipped": skipped,
            **({"errors": errors} if errors else {}),
        }

    def _record(self, checked: list[Desired], reports: list[dict[str, Any]]) -> list[dict[str, str]]:
        """Record every report, concurrently (one write's latency per rule, one after another, made the sweep's time
        grow with the rules); the errors of those that could not be, the others recorded all the same."""

        def record(one: Desired, report: dict[str, Any]) -> dict[str, str] | None:
            try:
                record_report(self.rollouts, report, one.item.get("drift"))
            except ex.PullthroughError as error:  # keep sweeping: the other prefixes' results still count
                logger.exception("drift report not recorded", extra={"prefix": one.prefix})
                return {"prefix": one.prefix, "error": f"{type(error).__name__}: {error.message}"}
            return None

        if not checked:
            return []
        with ThreadPoolExecutor(max_workers=min(MAX_REPORT_WRITERS, len(checked))) as pool:
            return [e for e in pool.map(record, checked, reports) if e is not None]

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

    def _read_regions(self, needs: dict[str, frozenset[str]]) -> dict[str, RegionInventory]:
        if not needs:
            return {}
        with ThreadPoolExecutor(max_workers=min(MAX_REGION_READERS, len(needs))) as pool:
            inventories = pool.map(lambda region: self.read(region, needs[region]), needs)
            return dict(zip(needs, inventories, strict=True))
