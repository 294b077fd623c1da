"""The rollout service's metrics through the real handlers on moto: each rollout is counted once when it starts and once
when it closes, whatever Step Functions retries, with the trigger recorded when it started."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.app_support import AppEnv, api, provision
from tests.support import FakeContext, emf_documents, emf_points, load_handler

FINISH = load_handler("finish_rollout")
RECOVER = load_handler("recover_rollout")
TRIGGER = load_handler("on_rule_requested")


@pytest.fixture
def app(moto_aws: None, monkeypatch: pytest.MonkeyPatch) -> AppEnv:
    return provision(monkeypatch)


def points(capsys: pytest.CaptureFixture[str], rollout_id: str) -> Any:
    written = [d for _, d in emf_documents(capsys.readouterr().out) if d.get("rolloutId") == rollout_id]
    return {key: value for key, value in emf_points(written).items() if key[0] != "RolloutDuration"}


def region(name: str, status: str, step: str | None = None, error: str | None = None) -> dict[str, Any]:
    return {
        "rolloutId": "x",
        "region": name,
        "status": status,
        "step": step,
        "error": {"Error": error, "Cause": "…"} if error else {},
        "changes": {},
    }


def test_a_finish_retried_by_step_functions_counts_the_rollout_once(
    app: AppEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    _, started = api("POST", "/rules", {"upstreamRegistry": "k8s", "regions": ["us-east-1"]})
    done = {
        "rolloutId": started["rolloutId"],
        "prefix": "kubernetes",
        "regionResults": [region("us-east-1", "SUCCEEDED")],
    }

    FINISH.handler(done, FakeContext())
    FINISH.handler(done, FakeContext())  # its answer was lost: Step Functions calls again

    assert points(capsys, started["rolloutId"]) == {
        ("RolloutsStarted", (("trigger", "api"),)): 1,
        ("RolloutsSucceeded", (("trigger", "api"),)): 1,
    }


def test_a_finish_that_asks_for_rollback_counts_nothing_until_the_rollback_has_finished(
    app: AppEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    _, started = api("POST", "/rules", {"upstreamRegistry": "quay", "regions": ["us-east-1", "eu-west-1"]})
    results = [region("us-east-1", "SUCCEEDED"), region("eu-west-1", "FAILED", "ValidateRule", "RuleValidationFailed")]
    capsys.readouterr()

    asked = FINISH.handler(
        {"rolloutId": started["rolloutId"], "prefix": "quay", "regionResults": results}, FakeContext()
    )
    assert asked["rollback"] is True
    assert points(capsys, started["rolloutId"]) == {}

    rolled_back: list[dict[str, Any]] = [
        {"region": r, "status": "ROLLED_BACK", "error": {}} for r in ("us-east-1", "eu-west-1")
    ]
    FINISH.handler(
        {
            "rolloutId": started["rolloutId"],
            "prefix": "quay",
            "regionResults": results,
            "afterRollback": True,
            "rollbackResults": rolled_back,
        },
        FakeContext(),
    )
    assert points(capsys, started["rolloutId"]) == {
        ("RolloutsRolledBack", (("trigger", "api"),)): 1,
        ("RegionFailures", (("step", "ValidateRule"), ("error", "RuleValidationFailed"))): 1,
        ("ValidationFailures", (("upstream", "quay"),)): 1,
    }


def test_a_failed_rollback_counts_as_a_failure_of_the_rollback_step(
    app: AppEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    _, started = api("POST", "/rules", {"upstreamRegistry": "k8s", "regions": ["us-east-1"]})
    capsys.readouterr()

    FINISH.handler(
        {
            "rolloutId": started["rolloutId"],
            "prefix": "kubernetes",
            "regionResults": [region("us-east-1", "FAILED", "CreateRule", "RuleLimitExceeded")],
            "afterRollback": True,
            "rollbackResults": [
                {"region": "us-east-1", "status": "ROLLBACK_FAILED", "error": {"Error": "SecretAccessDenied"}}
            ],
        },
        FakeContext(),
    )

    assert points(capsys, started["rolloutId"]) == {
        ("RolloutsFailed", (("trigger", "api"),)): 1,
        ("RegionFailures", (("step", "CreateRule"), ("error", "RuleLimitExceeded"))): 1,
        ("RegionFailures", (("step", "Rollback"), ("error", "SecretAccessDenied"))): 1,
    }


def test_a_rollout_closed_because_finishing_failed_counts_as_failed_once(
    app: AppEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    _, started = api("POST", "/rules", {"upstreamRegistry": "k8s", "regions": ["us-east-1"]})
    closing = {"rolloutId": started["rolloutId"], "prefix": "kubernetes", "error": {"Error": "States.Timeout"}}

    RECOVER.handler(closing, FakeContext())
    RECOVER.handler(closing, FakeContext())

    assert points(capsys, started["rolloutId"]) == {
        ("RolloutsStarted", (("trigger", "api"),)): 1,
        ("RolloutsFailed", (("trigger", "api"),)): 1,
    }


def test_the_trigger_is_recorded_when_the_rollout_starts_and_counted_when_it_finishes(
    app: AppEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    requested = {
        "version": "0",
        "id": "11111111-2222-3333-4444-555555555555",
        "detail-type": "Pull Through Cache Rule Requested",
        "source": "pullthrough",
        "detail": {"upstreamRegistry": "quay", "regions": ["us-east-1"]},
    }
    started = TRIGGER.handler(requested, FakeContext())
    assert started["accepted"] is True

    FINISH.handler(
        {"rolloutId": started["rolloutId"], "prefix": "quay", "regionResults": [region("us-east-1", "SUCCEEDED")]},
        FakeContext(),
    )

    assert points(capsys, started["rolloutId"]) == {
        ("RolloutsStarted", (("trigger", "event"),)): 1,
        ("RolloutsSucceeded", (("trigger", "event"),)): 1,
    }
