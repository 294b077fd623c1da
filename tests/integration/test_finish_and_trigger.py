"""FinishRollout closes a rollout and emits its event; the EventBridge trigger starts rollouts, refusing inline credentials."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.app_support import AppEnv, api, provision
from tests.support import CANARY, ECR_REFUSALS, CallLog, FakeContext, load_handler
from tests.support import requested_event as requested

FINISH = load_handler("finish_rollout")
RECOVER = load_handler("recover_rollout")
TRIGGER = load_handler("on_rule_requested")


@pytest.fixture
def app(moto_aws: None, monkeypatch: pytest.MonkeyPatch) -> AppEnv:
    return provision(monkeypatch)


def region_result(region: str, status: str, error: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "rolloutId": "x",
        "region": region,
        "status": status,
        "step": "CreateRule",
        "error": error or {},
        "changes": {},
    }


def test_a_rollout_with_a_failed_region_finishes_failed_with_ecrs_error_and_emits_the_event(app: AppEnv) -> None:
    _, started = api("POST", "/rules", {"upstreamRegistry": "quay", "regions": ["us-east-1", "eu-west-1"]})
    cause = json.dumps(
        {
            "errorType": "RuleLimitExceeded",
            "errorMessage": "CreatePullThroughCacheRule: LimitExceededException: 50 rules",
        }
    )
    FINISH.handler(
        {
            "rolloutId": started["rolloutId"],
            "prefix": "quay",
            "failureTolerance": 1,
            "regionResults": [
                region_result("us-east-1", "SUCCEEDED"),
                region_result("eu-west-1", "FAILED", {"Error": "RuleLimitExceeded", "Cause": cause}),
            ],
        },
        FakeContext(),
    )
    status, rollout = api("GET", f"/rollouts/{started['rolloutId']}")
    assert status == 200 and rollout["status"] == "FAILED" and rollout["finishedAt"]
    # Regions keep what the state machine recorded; the event carries the per-region results.
    [event] = [e for e in app.emitted() if e["detail-type"] == "Pull Through Cache Rollout Finished"]
    assert event["detail"]["status"] == "FAILED"
    assert event["detail"]["regions"]["eu-west-1"]["error"] == {
        "type": "RuleLimitExceeded",
        "message": "CreatePullThroughCacheRule: LimitExceededException: 50 rules",
    }
    assert api("GET", "/rules/quay")[1]["lastRolloutStatus"] == "FAILED"


def test_all_regions_succeeding_finishes_succeeded(app: AppEnv) -> None:
    _, started = api("POST", "/rules", {"upstreamRegistry": "k8s", "regions": ["us-east-1"]})
    out = FINISH.handler(
        {
            "rolloutId": started["rolloutId"],
            "prefix": "kubernetes",
            "regionResults": [region_result("us-east-1", "SUCCEEDED")],
        },
        FakeContext(),
    )
    assert out["status"] == "SUCCEEDED" and api("GET", f"/rollouts/{started['rolloutId']}")[1]["status"] == "SUCCEEDED"


def test_a_requested_event_starts_a_rollout(app: AppEnv) -> None:
    out = TRIGGER.handler(requested({"upstreamRegistry": "ecr-public", "regions": ["eu-west-1"]}), FakeContext())
    assert out["accepted"] is True
    assert app.execution_input(out["rolloutId"])["rule"]["ecrRepositoryPrefix"] == "ecr-public"


def test_inline_credentials_on_the_bus_are_refused_reported_and_never_logged(
    app: AppEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    detail = {
        "upstreamRegistry": "docker-hub",
        "credentials": {"username": "u", "accessToken": CANARY},
        "regions": ["eu-west-1"],
    }
    out = TRIGGER.handler(requested(detail), FakeContext())
    assert out["accepted"] is False and out["field"] == "detail.credentials"
    assert app.executions() == []
    [report] = [e for e in app.emitted() if e["detail-type"] == "Pull Through Cache Rule Rejected"]
    assert report["detail"]["field"] == "detail.credentials"
    captured = capsys.readouterr()
    assert CANARY not in captured.out + captured.err + json.dumps(out) + json.dumps(report)


@pytest.mark.parametrize(
    ("detail", "field"),
    [
        ({"upstreamRegistry": "docker-hub", "regions": ["eu-west-1"]}, "credentials"),
        ({"upstreamRegistry": "quay", "regions": ["nowhere-1"]}, "regions"),
        ("not an object", "body"),
    ],
)
def test_bad_details_are_refused_naming_the_field(app: AppEnv, detail: Any, field: str) -> None:
    out = TRIGGER.handler(requested(detail), FakeContext())
    assert out["accepted"] is False and out["field"] == field and app.executions() == []


def test_a_request_for_a_busy_prefix_is_refused_with_the_running_rollout(app: AppEnv) -> None:
    first = TRIGGER.handler(requested({"upstreamRegistry": "quay", "regions": ["eu-west-1"]}), FakeContext())
    second = TRIGGER.handler(requested({"upstreamRegistry": "quay", "regions": ["us-east-1"]}), FakeContext())
    assert second["accepted"] is False and second["rolloutId"] == first["rolloutId"]


def test_a_rolled_back_rollout_reports_each_region_and_restores_the_previous_desired_rule(app: AppEnv) -> None:
    body = {"upstreamRegistry": "quay", "regions": ["us-east-1", "eu-west-1"]}
    _, first = api("POST", "/rules", body)
    FINISH.handler({"rolloutId": first["rolloutId"], "prefix": "quay", "regionResults": []}, FakeContext())
    _, second = api("POST", "/rules", body | {"upstreamRepositoryPrefix": "coreos"})
    assert api("GET", "/rules/quay")[1]["rule"]["upstreamRepositoryPrefix"] == "coreos"
    cause = json.dumps({"errorType": "RuleValidationFailed", "errorMessage": "eu-west-1: upstream unreachable"})
    out = FINISH.handler(
        {
            "rolloutId": second["rolloutId"],
            "prefix": "quay",
            "regionResults": [
                region_result("us-east-1", "SUCCEEDED"),
                region_result("eu-west-1", "FAILED", {"Error": "RuleValidationFailed", "Cause": cause}),
            ],
            "afterRollback": True,
            "rollbackResults": [
                {"region": "us-east-1", "status": "ROLLED_BACK", "error": {}},
                {"region": "eu-west-1", "status": "ROLLED_BACK", "error": {}},
            ],
        },
        FakeContext(),
    )
    assert out["status"] == "ROLLED_BACK"
    _, rollout = api("GET", f"/rollouts/{second['rolloutId']}")
    assert rollout["status"] == "ROLLED_BACK"
    assert rollout["regions"]["eu-west-1"] == {
        "status": "ROLLED_BACK",
        "step": "CreateRule",
        "error": {"type": "RuleValidationFailed", "message": "eu-west-1: upstream unreachable"},
        "changes": {},
    }
    assert api("GET", "/rules/quay")[1]["rule"].get("upstreamRepositoryPrefix", "ROOT") == "ROOT"


def test_the_rule_names_its_last_attempt_after_a_roll_back_not_the_previous_success(app: AppEnv) -> None:
    body = {"upstreamRegistry": "quay", "regions": ["us-east-1"]}
    _, first = api("POST", "/rules", body)
    FINISH.handler({"rolloutId": first["rolloutId"], "prefix": "quay", "regionResults": []}, FakeContext())
    _, second = api("POST", "/rules", body | {"upstreamRepositoryPrefix": "coreos"})
    failed = {"Error": "RuleValidationFailed", "Cause": "no"}
    FINISH.handler(
        {
            "rolloutId": second["rolloutId"],
            "prefix": "quay",
            "regionResults": [region_result("us-east-1", "FAILED", failed)],
            "afterRollback": True,
            "rollbackResults": [{"region": "us-east-1", "status": "ROLLED_BACK", "error": {}}],
        },
        FakeContext(),
    )
    rule = api("GET", "/rules/quay")[1]
    assert (rule["lastRolloutId"], rule["lastRolloutStatus"]) == (second["rolloutId"], "ROLLED_BACK")
    assert rule["rule"].get("upstreamRepositoryPrefix", "ROOT") == "ROOT"  # the desired rule is the previous one
    listed = api("GET", "/rules")[1]["rules"]
    assert [r["lastRolloutStatus"] for r in listed] == ["ROLLED_BACK"]


def test_a_rollback_that_fails_is_reported_per_region_and_the_rollout_is_failed(app: AppEnv) -> None:
    _, started = api("POST", "/rules", {"upstreamRegistry": "k8s", "regions": ["us-east-1"]})
    out = FINISH.handler(
        {
            "rolloutId": started["rolloutId"],
            "prefix": "kubernetes",
            "regionResults": [
                region_result("us-east-1", "FAILED", {"Error": "AwsTransientError", "Cause": "throttled"})
            ],
            "afterRollback": True,
            "rollbackResults": [
                {
                    "region": "us-east-1",
                    "status": "ROLLBACK_FAILED",
                    "error": {"Error": "SecretAccessDenied", "Cause": "denied"},
                }
            ],
        },
        FakeContext(),
    )
    assert out["status"] == "FAILED"
    shown = api("GET", f"/rollouts/{out['rolloutId']}")[1]
    assert shown["regions"]["us-east-1"]["status"] == "ROLLBACK_FAILED"
    assert shown["regions"]["us-east-1"]["rollbackError"] == {"type": "SecretAccessDenied", "message": "denied"}


def test_finish_runs_with_only_the_environment_the_template_gives_it(
    app: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, started = api("POST", "/rules", {"upstreamRegistry": "k8s", "regions": ["us-east-1"]})
    monkeypatch.delenv("STATE_MACHINE_ARN")  # the state machine invokes FinishRollout: it cannot be given its ARN
    out = FINISH.handler(
        {
            "rolloutId": started["rolloutId"],
            "prefix": "kubernetes",
            "regionResults": [region_result("us-east-1", "SUCCEEDED")],
        },
        FakeContext(),
    )
    assert out["status"] == "SUCCEEDED"


def test_a_retried_finish_changes_nothing_twice(app: AppEnv) -> None:
    _, started = api("POST", "/rules", {"upstreamRegistry": "k8s", "regions": ["us-east-1"]})
    done = {
        "rolloutId": started["rolloutId"],
        "prefix": "kubernetes",
        "regionResults": [region_result("us-east-1", "SUCCEEDED")],
    }
    FINISH.handler(done, FakeContext())
    _, newer = api("POST", "/rules", {"upstreamRegistry": "k8s", "regions": ["eu-west-1"]})
    FINISH.handler(done, FakeContext())  # Step Functions retries a finish whose answer was lost
    assert (
        api("POST", "/rules", {"upstreamRegistry": "k8s", "regions": ["ap-southeast-2"]})[0] == 409
    )  # newer still holds the lock
    assert api("GET", "/rules/kubernetes")[1]["regions"] == ["eu-west-1"]
    assert newer["rolloutId"] != started["rolloutId"]


def test_a_rejection_event_that_cannot_be_emitted_still_never_raises(
    app: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pullthrough import exceptions as ex
    from pullthrough.adapters.workflow import EventBus

    def denied(self: EventBus, detail_type: str, detail: dict[str, Any]) -> None:
        raise ex.SecretAccessDenied("PutEvents: AccessDeniedException")

    monkeypatch.setattr(EventBus, "emit", denied)
    detail = {
        "upstreamRegistry": "docker-hub",
        "credentials": {"username": "u", "accessToken": CANARY},
        "regions": ["eu-west-1"],
    }
    out = TRIGGER.handler(requested(detail), FakeContext())
    assert out["accepted"] is False and CANARY not in json.dumps(out)


def test_a_credential_secret_outside_the_home_region_or_namespace_is_refused(app: AppEnv) -> None:
    for arn in (
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ecr-pullthroughcache/x-AbCdEf",
        "arn:aws:secretsmanager:us-east-1:999999999999:secret:ecr-pullthroughcache/x-AbCdEf",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:elsewhere/x-AbCdEf",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/missing-AbCdEf",
    ):
        status, body = api(
            "POST", "/rules", {"upstreamRegistry": "docker-hub", "credentialSecretArn": arn, "regions": ["eu-west-1"]}
        )
        assert status == 422 and body["errors"][0]["field"] == "credentialSecretArn", arn


def test_a_region_whose_first_undo_failed_but_the_rollback_map_restored_is_rolled_back(app: AppEnv) -> None:
    _, started = api("POST", "/rules", {"upstreamRegistry": "k8s", "regions": ["us-east-1", "eu-west-1"]})
    out = FINISH.handler(
        {
            "rolloutId": started["rolloutId"],
            "prefix": "kubernetes",
            "regionResults": [
                region_result("us-east-1", "SUCCEEDED"),
                region_result("eu-west-1", "ROLLBACK_FAILED", {"Error": "AwsTransientError", "Cause": "throttled"}),
            ],
            "afterRollback": True,
            "rollbackResults": [
                {"region": "us-east-1", "status": "ROLLED_BACK", "error": {}},
                {"region": "eu-west-1", "status": "ROLLED_BACK", "error": {}},
            ],
        },
        FakeContext(),
    )
    shown = api("GET", f"/rollouts/{out['rolloutId']}")[1]
    assert out["status"] == "ROLLED_BACK" and shown["regions"]["eu-west-1"]["status"] == "ROLLED_BACK"
    assert api("GET", "/rules/kubernetes")[0] == 404  # the desired rule is put back (there was none)


def test_a_failed_region_map_keeps_what_regions_recorded_and_says_why(app: AppEnv) -> None:
    _, started = api("POST", "/rules", {"upstreamRegistry": "k8s", "regions": ["us-east-1", "eu-west-1"]})
    map_error = {"Error": "States.TaskFailed", "Cause": "DynamoDB UpdateItem failed"}
    out = FINISH.handler(
        {
            "rolloutId": started["rolloutId"],
            "prefix": "kubernetes",
            "regionResults": [],
            "afterRollback": True,
            "rollbackResults": [
                {"region": "us-east-1", "status": "ROLLED_BACK", "error": {}},
                {"region": "eu-west-1", "status": "ROLLED_BACK", "error": {}},
            ],
            "mapError": map_error,
        },
        FakeContext(),
    )
    assert out["status"] == "ROLLED_BACK"
    _, rollout = api("GET", f"/rollouts/{started['rolloutId']}")
    assert rollout["error"] == {"type": "States.TaskFailed", "message": "DynamoDB UpdateItem failed"}
    assert rollout["error"]["message"] == "DynamoDB UpdateItem failed" and set(rollout["regions"]) == {
        "us-east-1",
        "eu-west-1",
    }


@pytest.mark.parametrize(("detail", "field"), list(ECR_REFUSALS.values()), ids=list(ECR_REFUSALS))
def test_requests_ecr_would_refuse_are_rejected_on_the_bus_before_any_write(
    app: AppEnv, call_log: CallLog, detail: dict[str, Any], field: str
) -> None:
    out = TRIGGER.handler(requested(detail | {"regions": ["eu-west-1"]}), FakeContext())
    assert out["accepted"] is False and out["field"] == field
    [report] = [e for e in app.emitted() if e["detail-type"] == "Pull Through Cache Rule Rejected"]
    assert report["detail"]["field"] == field and "Value error" not in report["detail"]["reason"]
    assert [op for *_, op in call_log.writes()] == ["PutEvents"]  # the Rejected event, nothing else
    assert app.executions() == []


def test_a_trailing_slash_on_the_bus_names_the_same_rule(app: AppEnv) -> None:
    first = TRIGGER.handler(
        requested({"upstreamRegistry": "quay", "ecrRepositoryPrefix": "mirror", "regions": ["eu-west-1"]}),
        FakeContext(),
    )
    second = TRIGGER.handler(
        requested({"upstreamRegistry": "quay", "ecrRepositoryPrefix": "mirror/", "regions": ["us-west-2"]}),
        FakeContext(),
    )
    assert first["accepted"] is True and first["prefix"] == "mirror"
    assert second["accepted"] is False and second["rolloutId"] == first["rolloutId"]


def test_the_sample_events_of_finish_and_recovery_run_as_is(app: AppEnv) -> None:
    """events/finish_rollout.json and events/recover_rollout.json are what the state machine and EventBridge send."""
    root = Path(__file__).resolve().parents[2] / "events"
    finished = FINISH.handler(json.loads((root / "finish_rollout.json").read_text()), FakeContext())
    assert finished["status"] == "FAILED" and finished["rollback"] is False  # one failure, tolerated
    recovered = RECOVER.handler(json.loads((root / "recover_rollout.json").read_text()), FakeContext())
    assert recovered == {"rolloutId": "r-0123456789abcdef0123456789abcdef", "action": "none"}  # already final


def test_finishing_a_succeeded_rollout_makes_no_secrets_manager_client(
    app: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A client costs a cold start its service model: FinishRollout makes only those it calls.
    from pullthrough import aws

    _, started = api("POST", "/rules", {"upstreamRegistry": "quay", "regions": ["us-east-1"]})
    made: list[str] = []
    real_client = aws.client

    def recording_client(service: str, region: str, **options: Any) -> Any:
        made.append(service)
        return real_client(service, region, **options)

    monkeypatch.setattr(aws, "client", recording_client)
    summary = FINISH.handler(
        {
            "rolloutId": started["rolloutId"],
            "prefix": "quay",
            "regionResults": [region_result("us-east-1", "SUCCEEDED")],
        },
        FakeContext(),
    )
    assert summary["status"] == "SUCCEEDED"
    assert "dynamodb" in made and "secretsmanager" not in made
