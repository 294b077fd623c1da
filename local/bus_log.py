"""``make local`` prints the app's own events as they reach the bus: Rollout Started and Finished, Rule Rejected,
Drift Detected. An EventBridge rule on the app's bus targets an in-process function whose handler prints one line
per event (never a credential: the app's events hold none)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from local import lambda_runner
from local.stack import EmbeddedStack

FUNCTION_NAME = "pullthrough-local-event-log"
RULE_NAME = "pullthrough-local-event-log"
PATTERN = {"source": ["pullthrough"], "detail-type": [{"anything-but": "Pull Through Cache Rule Requested"}]}
SHOWN = ("requestId", "rolloutId", "prefix", "operation", "mode", "status")


def line(event: dict[str, Any]) -> str:
    """One event as a log line: its kind, the ids a caller matches on, the status, and any refusal's fields."""
    found = event.get("detail")
    detail: dict[str, Any] = found if isinstance(found, dict) else {}
    kind = str(event.get("detail-type", "?")).removeprefix("Pull Through Cache ")
    parts = [f"event  {kind:<17}"]
    parts += [f"{key}={'-' if detail[key] is None else detail[key]}" for key in SHOWN if key in detail]
    for error in detail.get("errors") or []:
        parts.append(f"{error.get('field')}: {error.get('message')}")
    if kind == "Drift Detected":
        found_drift = detail.get("targets", detail.get("drift"))  # every account's findings (older reports: drift)
        if found_drift:
            parts.append(f"drift={json.dumps(found_drift)[:200]}")
    elif detail.get("targetCounts"):  # Rollout Finished: how many targets ended how, then what went wrong where
        counts = detail["targetCounts"]
        parts.append("targets=" + ",".join(f"{counts[status]} {status}" for status in sorted(counts)))
        parts += [failure for target in detail.get("targets") or [] if (failure := _failure(target))]
    return "  ".join(parts)


def _failure(target: dict[str, Any]) -> str:
    """``<account> <region>: <Type>: <message>`` for a target that did not succeed; empty for one that did."""
    error = target.get("error")
    if not isinstance(error, dict) or not error:
        return ""
    return f"{target.get('account')} {target.get('region')}: {error.get('type')}: {error.get('message')}"[:200]


def handler(event: dict[str, Any], context: Any) -> None:
    print(line(event), flush=True)


def app_bus(stack: EmbeddedStack) -> str:
    """The bus the app's events go to (the stack's own)."""
    return stack.event_bus_name


def install(stack: EmbeddedStack) -> None:
    """Print the app's events to this process's standard output from now on."""
    bus = app_bus(stack)
    arn = stack.add_function(FUNCTION_NAME, lambda_runner.FunctionCode(Path(__file__).parent, "bus_log.handler"))
    events = stack.client("events")
    events.put_rule(Name=RULE_NAME, EventBusName=bus, EventPattern=json.dumps(PATTERN), State="ENABLED")
    events.put_targets(Rule=RULE_NAME, EventBusName=bus, Targets=[{"Id": "print", "Arn": arn}])
