"""DriftSweep: compare the desired rules with every target (account, region); record and emit drift, or repair it
(DRIFT_MODE).

Takes a scheduled EventBridge event (its content is ignored) or ``{"mode": "report"|"repair", "prefixes": [...]}``.
"""

from __future__ import annotations

import os
from typing import Any

from pullthrough.drift.request import mode_from_env, parse_sweep_event
from pullthrough.drift.sweep import DriftSweep
from pullthrough.expiry import WARNING_DAYS
from pullthrough.metrics import drift_found, rule_health
from pullthrough.observability import logger
from pullthrough.wiring import rollouts_from_env


@logger.inject_lambda_context(log_event=False, clear_state=True)
def handler(event: Any, context: Any) -> dict[str, Any]:
    request = parse_sweep_event(event)
    mode = request.mode or mode_from_env()
    warning_days = int(os.environ.get("CREDENTIAL_EXPIRY_WARNING_DAYS", WARNING_DAYS))
    sweep = DriftSweep(rollouts_from_env(trigger="sweep", organization=True), expiry_warning_days=warning_days)
    summary = sweep.run(mode, request.prefixes)
    drift_found(summary)
    rule_health(summary)
    logger.info(
        "drift sweep done",
        extra={
            "mode": mode,
            "regions": len(summary["checkedRegions"]),
            "targets": summary["checkedTargets"],
            "unreadableAccounts": sorted(summary["unreadableAccounts"]),
            "prefixes": len(summary["prefixes"]),
            "drifted": summary["drifted"],
            "repairsStarted": summary["repairsStarted"],
        },
    )
    return summary
