"""What a sweep leaves behind: each rule's report recorded and announced, and the repair rollouts it starts."""

from __future__ import annotations

from typing import Any

from pullthrough import exceptions as ex
from pullthrough.adapters.store import PrefixBusy
from pullthrough.drift.desired import Desired
from pullthrough.observability import logger
from pullthrough.rollouts.deps import Deps
from pullthrough.rollouts.start import start

DRIFT_DETECTED = "Pull Through Cache Drift Detected"


# What may differ between two reports of the same state: when it was seen, and what the sweep did about it.
_CIRCUMSTANCES = ("checkedAt", "repair")


def report_changed(recorded: Any, report: dict[str, Any]) -> bool:
    """Whether ``report`` says something the recorded one (the rule item's ``drift``) does not."""
    if not isinstance(recorded, dict):
        return True
    unchanged = {k: v for k, v in recorded.items() if k not in _CIRCUMSTANCES}
    return unchanged != {k: v for k, v in report.items() if k not in _CIRCUMSTANCES}


def record_report(
    deps: Deps, report: dict[str, Any], recorded: Any = None, health: dict[str, Any] | None = None
) -> None:
    """Record the report on the desired rule (``drift``, ``driftCheckedAt``) unless it says what ``recorded`` (the
    rule's last report) says: a sweep of many rules in sync then writes nothing, and takes as long as one rule's.
    So ``driftCheckedAt`` is when the rule was last found in its present state. Emit the report when the rule drifted.
    ``health`` (pullthrough.drift.health): written in the same update, when it is new.
    """
    fields: dict[str, Any] = {"health": health} if health is not None else {}
    if report_changed(recorded, report) or report.get("repair"):
        deps.store.update_rule(report["prefix"], drift=report, driftCheckedAt=report["checkedAt"], **fields)
    elif fields:
        deps.store.update_rule(report["prefix"], **fields)
    if report["targets"]:
        logger.warning("drift found", extra={"prefix": report["prefix"], "drift": report["targets"]})
        if deps.events is not None:
            deps.events.emit(DRIFT_DETECTED, report)


def start_repair(deps: Deps, desired: Desired, sweep_id: str) -> dict[str, Any]:
    """Start a normal rollout of the desired rule to its desired targets: STARTED, SKIPPED (busy) or FAILED.

    The rollout's steps compare before they write: a hand-changed secret gets the source's value back, a deleted or
    changed rule or template is put back, and targets found in sync cost only reads. All desired targets (the same
    regions, accounts and organizational units), not only the drifted ones: a rollout's request becomes the rule's
    desired state, and targets held but no longer desired are emptied by it.
    """
    # Its own idempotency key: a user's identical request (or an earlier repair) must not stand in for it.
    key = f"drift-repair:{sweep_id}:{desired.prefix}"
    try:
        started = start(deps, desired.repair_request(), idempotency_key=key)
    except PrefixBusy as busy:
        return {"status": "SKIPPED", "reason": "the prefix is busy", "rolloutId": busy.rollout_id}
    except ex.PullthroughError as error:
        logger.warning("repair not started", extra={"prefix": desired.prefix, "error": error.message})
        return {"status": "FAILED", "reason": f"{type(error).__name__}: {error.message}"}
    return {"status": "STARTED", "rolloutId": started["rolloutId"]}
