"""pullthrough.metrics alone: which EMF lines a closed rollout, a sweep and an API answer make, and their shape."""

from __future__ import annotations

from typing import Any

import pytest

from pullthrough.metrics import (
    CATALOG,
    NAMESPACE,
    RolloutMetrics,
    api_response,
    drift_found,
    region_failures,
    rule_health,
)
from tests.support import emf_documents, emf_points


def documents(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [document for _, document in emf_documents(capsys.readouterr().out)]


def failed(step: str | None, error: str | None, status: str = "FAILED", **more: Any) -> dict[str, Any]:
    return {"status": status, "step": step, "error": {"type": error, "message": "…"} if error else None, **more}


def test_region_failures_count_each_step_and_error_and_each_failed_rollback() -> None:
    regions = {
        "us-east-1": failed(None, None, "SUCCEEDED"),
        "eu-west-1": failed("ValidateRule", "RuleValidationFailed", "ROLLED_BACK"),
        "eu-central-1": failed("ValidateRule", "RuleValidationFailed", "ROLLED_BACK"),
        "ap-southeast-2": failed(
            "CreateRule", "RuleLimitExceeded", "ROLLBACK_FAILED", rollbackError={"type": "SecretAccessDenied"}
        ),
        "sa-east-1": failed(None, None, "SKIPPED"),
    }

    assert region_failures(regions) == {
        ("ValidateRule", "RuleValidationFailed"): 2,
        ("CreateRule", "RuleLimitExceeded"): 1,
        ("Rollback", "SecretAccessDenied"): 1,
    }


def test_an_error_name_that_is_not_a_name_becomes_other() -> None:
    # A dimension value is a series of its own: free text (which could quote anything) must never become one
    regions = {"eu-west-1": failed("ValidateRule", "upstream said: token abc123 expired")}

    assert region_failures(regions) == {("ValidateRule", "Other"): 1}


def test_a_rolled_back_rollout_writes_its_outcome_duration_failures_and_validation_failures(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rollout = {"trigger": "event", "createdAt": "2026-11-29T10:00:00+00:00", "upstreamRegistry": "docker-hub"}
    summary = {
        "rolloutId": "r-1",
        "prefix": "docker-hub",
        "status": "ROLLED_BACK",
        "regions": {
            "eu-west-1": failed("ValidateRule", "RuleValidationFailed", "ROLLED_BACK"),
            "eu-central-1": failed("ValidateRule", "RuleValidationFailed", "ROLLED_BACK"),
        },
    }

    RolloutMetrics().finished(rollout, summary, "2026-11-29T10:01:30+00:00")

    written = documents(capsys)
    assert emf_points(written) == {
        ("RolloutsRolledBack", (("trigger", "event"),)): 1,
        ("RolloutDuration", (("trigger", "event"),)): 90,
        ("RegionFailures", (("step", "ValidateRule"), ("error", "RuleValidationFailed"))): 2,
        ("ValidationFailures", (("upstream", "docker-hub"),)): 2,
    }
    assert {(d["rolloutId"], d["prefix"]) for d in written} == {("r-1", "docker-hub")}  # metadata, not dimensions


def test_a_rollout_across_accounts_counts_the_failures_of_every_accounts_targets(
    capsys: pytest.CaptureFixture[str],
) -> None:
    one, two = (
        failed("StoreSecret", "ExecutionRoleUnavailable", "FAILED"),
        failed("CreateRule", "AccessDenied", "FAILED"),
    )
    summary = {
        "rolloutId": "r-2",
        "prefix": "quay",
        "status": "ROLLED_BACK",
        "regions": {},  # the home account is not a target
        "targets": [
            {"account": "111111111111", "region": "eu-west-1", **one},
            {"account": "222222222222", "region": "eu-west-1", **one},
            {"account": "222222222222", "region": "us-east-1", **two},
        ],
    }

    RolloutMetrics().finished({"trigger": "api"}, summary, "2026-11-29T10:01:30+00:00")

    points = emf_points(documents(capsys))
    assert points[("RegionFailures", (("step", "StoreSecret"), ("error", "ExecutionRoleUnavailable")))] == 2
    assert points[("RegionFailures", (("step", "CreateRule"), ("error", "AccessDenied")))] == 1


@pytest.mark.parametrize(
    ("status", "metric"),
    [("SUCCEEDED", "RolloutsSucceeded"), ("FAILED", "RolloutsFailed"), ("PLANNED", "RolloutsPlanned")],
)
def test_each_outcome_has_its_metric_and_a_plan_no_duration(
    capsys: pytest.CaptureFixture[str], status: str, metric: str
) -> None:
    rollout = {"trigger": "api", "createdAt": "2026-11-29T10:00:00+00:00"}

    RolloutMetrics().finished(rollout, {"status": status, "regions": {}}, "2026-11-29T10:00:05+00:00")

    expected = {(metric, (("trigger", "api"),)): 1}
    if status != "PLANNED":
        expected[("RolloutDuration", (("trigger", "api"),))] = 5
    assert emf_points(documents(capsys)) == expected


def test_a_rollout_recorded_without_trigger_or_start_still_counts(capsys: pytest.CaptureFixture[str]) -> None:
    RolloutMetrics().finished({}, {"status": "SUCCEEDED", "regions": {}}, "2026-11-29T10:00:05+00:00")

    assert emf_points(documents(capsys)) == {("RolloutsSucceeded", (("trigger", "unknown"),)): 1}


def test_a_sweep_counts_findings_by_resource_and_kind_and_a_clean_one_writes_zero(
    capsys: pytest.CaptureFixture[str],
) -> None:
    finding = {"region": "eu-west-1", "message": "…", "fields": []}
    drift_found(
        {
            "prefixes": [
                {"prefix": "a", "drift": [finding | {"resource": "rule", "kind": "missing"}]},
                {
                    "prefix": "b",
                    "drift": [
                        finding | {"resource": "rule", "kind": "missing"},
                        finding | {"resource": "secret", "kind": "changed"},
                    ],
                },
                {"prefix": "c", "drift": []},
            ]
        }
    )
    drifted = emf_points(documents(capsys))
    drift_found({"prefixes": [{"prefix": "a", "drift": []}]})

    assert drifted == {
        ("DriftFindings", (("resource", "rule"), ("kind", "missing"))): 2,
        ("DriftFindings", (("resource", "secret"), ("kind", "changed"))): 1,
    }
    assert emf_points(documents(capsys)) == {("DriftFindings", ()): 0}


def test_a_sweep_counts_unhealthy_targets_per_rule_and_zero_for_a_healthy_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rule_health({"health": {"docker-hub": {"unhealthyTargets": 2}, "quay": {"unhealthyTargets": 0}}})

    assert emf_points(documents(capsys)) == {
        ("UnhealthyTargets", (("prefix", "docker-hub"),)): 2,
        ("UnhealthyTargets", (("prefix", "quay"),)): 0,
    }


@pytest.mark.parametrize(("status", "counted"), [(200, False), (202, False), (404, True), (422, True), (503, False)])
def test_the_api_counts_client_errors_by_route(capsys: pytest.CaptureFixture[str], status: int, counted: bool) -> None:
    event = {"httpMethod": "GET", "resource": "/rules/{prefix}", "path": "/rules/docker-hub"}

    api_response(event, {"statusCode": status, "body": "{}"})

    expected = {("ApiClientErrors", (("route", "GET /rules/{prefix}"),)): 1} if counted else {}
    assert emf_points(documents(capsys)) == expected


def test_every_line_has_the_namespace_and_dimension_sets_of_the_catalog(capsys: pytest.CaptureFixture[str]) -> None:
    metrics = RolloutMetrics()
    metrics.started("r-1", "quay", "sweep")
    failure = failed("ApplyTemplate", "TemplateRejected", "ROLLED_BACK")
    metrics.finished({"trigger": "sweep"}, {"status": "ROLLED_BACK", "regions": {"eu-west-1": failure}}, "now")
    drift_found({"prefixes": []})
    api_response({"httpMethod": "POST", "resource": "/rules"}, {"statusCode": 409})
    rule_health({"health": {"quay": {"unhealthyTargets": 1}}})

    written = documents(capsys)
    assert {m["Name"] for d in written for m in d["_aws"]["CloudWatchMetrics"][0]["Metrics"]} == {
        "RolloutsStarted",
        "RolloutsRolledBack",
        "RegionFailures",
        "DriftFindings",
        "ApiClientErrors",
        "UnhealthyTargets",
    }
    for document in written:
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == NAMESPACE
        for metric in directive["Metrics"]:
            assert all(tuple(names) in CATALOG[metric["Name"]] for names in directive["Dimensions"])


def test_metrics_can_be_switched_off_as_powertools_documents(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")

    RolloutMetrics().started("r-1", "quay", "api")

    assert documents(capsys) == []
