"""pullthrough's own CloudWatch metrics: embedded metric format (EMF) lines on stdout, namespace ``pullthrough``.

Lambda sends stdout to CloudWatch Logs, which turns each EMF line into metric data: no PutMetricData call, no
permission, no latency. Every line also carries the dimension set ``service`` alone, so alarms and percentiles have
one series per metric, and a finer set (trigger, step and error, ...) for the dashboard's breakdowns.

Each event writes its own line from its own metric set (Powertools' CloudWatch EMF provider) instead of going through
the process-wide ``Metrics`` object flushed when the handler returns: the line is out as soon as the thing it counts
is recorded (FinishRollout emits only on the call that closes the rollout, so Step Functions' retries never count it
twice), and handlers that run as threads of one process (the local stack) never mix their metrics or dimensions.

Dimension values come from small closed sets (trigger, step, error class name, upstream registry, drift resource and
kind, API route). Rollout ids and prefixes go in as metadata: searchable with Logs Insights, never a metric series.
Nothing here ever sees a credential value; a region's error is reduced to its class name.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

NAMESPACE = "pullthrough"
SERVICE = "pullthrough"
type Trigger = Literal[
    "api", "event", "account", "sweep", "rotation"
]  # what started a rollout: the API, an EventBridge event, an account joining an OU, the sweep, a source secret change
UNKNOWN = "unknown"

OUTCOMES = {
    "SUCCEEDED": "RolloutsSucceeded",
    "FAILED": "RolloutsFailed",
    "ROLLED_BACK": "RolloutsRolledBack",
    "PLANNED": "RolloutsPlanned",
}
ROLLBACK_STEP = "Rollback"  # a region whose rollback failed counts as a failure of this step

#: Every metric this module emits and its dimension sets (each also holds ``service``). The template's alarms and
#: dashboard may use only these (tests/contract), and every line the app writes fits them (tests/e2e).
CATALOG: dict[str, tuple[tuple[str, ...], ...]] = {
    "RolloutsStarted": (("service",), ("service", "trigger")),
    **{name: (("service",), ("service", "trigger")) for name in OUTCOMES.values()},
    "RolloutDuration": (("service",), ("service", "trigger")),
    "RegionFailures": (("service",), ("service", "step", "error")),
    "ValidationFailures": (("service",), ("service", "upstream")),
    "DriftFindings": (("service",), ("service", "resource", "kind")),
    "ApiClientErrors": (("service",), ("service", "route")),
    "UnhealthyTargets": (("service",), ("service", "prefix")),
    "DaysToCredentialExpiry": (("service",), ("service", "prefix")),
}

_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def _name(value: Any) -> str:
    """A dimension value that is a name (error class, step), or ``Other``: never free text."""
    return value if isinstance(value, str) and _NAME.fullmatch(value) else "Other"


def emit(values: Mapping[str, tuple[float, MetricUnit]], by: Mapping[str, str] | None = None, **metadata: Any) -> None:
    """Write one EMF line: ``values`` (name -> (value, unit)) under ``service``, and under ``service`` + ``by``."""
    line = AmazonCloudWatchEMFProvider(namespace=NAMESPACE, service=SERVICE)
    for name, (value, unit) in values.items():
        line.add_metric(name=name, unit=unit, value=value)
    if by:
        line.add_dimensions(service=SERVICE, **by)
    for key, value in metadata.items():
        line.add_metadata(key, value)
    line.flush_metrics()  # prints the line (nothing under POWERTOOLS_METRICS_DISABLED)


def _seconds_between(start: Any, end: Any) -> float | None:
    try:
        return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except (TypeError, ValueError):
        return None


def region_failures(regions: Mapping[str, Mapping[str, Any]]) -> Counter[tuple[str, str]]:
    """(step, error class) -> regions, from the regions of a rollout as the API shows them.

    A region failed a step when it has both; a failed rollback of a region counts as a failure of ``Rollback``.
    """
    failed: Counter[tuple[str, str]] = Counter()
    for view in regions.values():
        error, step = view.get("error"), view.get("step")
        if error and step:
            failed[(_name(step), _name(error.get("type")))] += 1
        if view.get("rollbackError"):
            failed[(ROLLBACK_STEP, _name(view["rollbackError"].get("type")))] += 1
    return failed


class RolloutMetrics:
    """Counts rollouts as they start and end; the rollout service calls it (wired in ``pullthrough.wiring``)."""

    def started(self, rollout_id: str, prefix: str, trigger: str) -> None:
        emit({"RolloutsStarted": (1, MetricUnit.Count)}, {"trigger": trigger}, rolloutId=rollout_id, prefix=prefix)

    def finished(self, rollout: Mapping[str, Any], summary: Mapping[str, Any], finished_at: str) -> None:
        """A rollout closed with ``summary`` (status and regions as the API shows them): its outcome, and for an
        apply or delete its duration; every region failure by step and error; validation failures by upstream."""
        status = str(summary.get("status"))
        outcome = OUTCOMES.get(status)
        if outcome is None:
            return
        trigger = str(rollout.get("trigger") or UNKNOWN)
        ids = {"rolloutId": summary.get("rolloutId"), "prefix": summary.get("prefix")}
        values: dict[str, tuple[float, MetricUnit]] = {outcome: (1, MetricUnit.Count)}
        duration = _seconds_between(rollout.get("createdAt"), finished_at)
        if duration is not None and status != "PLANNED":  # a plan's reads-only run would skew the percentiles
            values["RolloutDuration"] = (duration, MetricUnit.Seconds)
        emit(values, {"trigger": trigger}, **ids)
        targets = summary.get("targets")  # every account's targets; rollouts closed before accounts: regions
        views = {f"{t['account']}/{t['region']}": t for t in targets} if targets else summary.get("regions") or {}
        failures = region_failures(views)
        for (step, error), count in sorted(failures.items()):
            emit({"RegionFailures": (count, MetricUnit.Count)}, {"step": step, "error": error}, **ids)
        validation = sum(count for (step, _), count in failures.items() if step == "ValidateRule")
        if validation:
            upstream = _name(rollout.get("upstreamRegistry") or UNKNOWN)
            emit({"ValidationFailures": (validation, MetricUnit.Count)}, {"upstream": upstream}, **ids)


def drift_found(summary: Mapping[str, Any]) -> None:
    """What a sweep found, by resource and kind of finding; a sweep that found nothing writes a 0."""
    found: Counter[tuple[str, str]] = Counter(
        (_name(finding.get("resource")), _name(finding.get("kind")))
        for report in summary.get("prefixes") or []
        for finding in report.get("targets", report.get("drift")) or []
    )
    if not found:
        emit({"DriftFindings": (0, MetricUnit.Count)})
    for (resource, kind), count in sorted(found.items()):
        emit({"DriftFindings": (count, MetricUnit.Count)}, {"resource": resource, "kind": kind})


def rule_health(summary: Mapping[str, Any]) -> None:
    """Per rule the sweep validated: how many of its targets ECR found unhealthy (0 for a healthy rule); per rule
    whose credential's expiry is known: the days left."""
    for prefix, health in sorted((summary.get("health") or {}).items()):
        emit({"UnhealthyTargets": (health.get("unhealthyTargets", 0), MetricUnit.Count)}, {"prefix": prefix})
    for prefix, expiry in sorted((summary.get("credentials") or {}).items()):
        emit({"DaysToCredentialExpiry": (expiry["daysLeft"], MetricUnit.Count)}, {"prefix": prefix})


def api_response(event: Mapping[str, Any], response: Mapping[str, Any]) -> None:
    """Count a 4xx answer by route: the method and API Gateway's resource template (``GET /rules/{prefix}``)."""
    status = response.get("statusCode")
    if not isinstance(status, int) or not 400 <= status < 500:
        return
    route = f"{event.get('httpMethod') or UNKNOWN} {event.get('resource') or UNKNOWN}"
    emit({"ApiClientErrors": (1, MetricUnit.Count)}, {"route": route[:250]}, status=status)
