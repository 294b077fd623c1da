"""The EventBridge round trip: a requestId chosen by the caller comes back in Rollout Started, Rule Rejected and
Rollout Finished, so a caller that cannot read an HTTP answer can follow its request."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pullthrough.rollouts.close import close
from pullthrough.wiring import rollouts_from_env
from tests.integration.app_support import AppEnv, provision
from tests.support import CANARY, FakeContext, load_handler
from tests.support import requested_event as requested

FINISH = load_handler("finish_rollout")
TRIGGER = load_handler("on_rule_requested")
STARTED = "Pull Through Cache Rollout Started"
REJECTED = "Pull Through Cache Rule Rejected"
FINISHED = "Pull Through Cache Rollout Finished"


@pytest.fixture
def app(moto_aws: None, monkeypatch: pytest.MonkeyPatch) -> AppEnv:
    return provision(monkeypatch)


def events_of(app: AppEnv, detail_type: str) -> list[dict[str, Any]]:
    return [e["detail"] for e in app.emitted() if e["detail-type"] == detail_type]


QUAY = {"upstreamRegistry": "quay", "regions": ["us-east-1", "eu-west-1"]}


def test_an_accepted_request_is_answered_by_rollout_started_and_its_finish_echoes_the_request_id(app: AppEnv) -> None:
    out = TRIGGER.handler(requested(QUAY | {"requestId": "deploy-42"}), FakeContext())
    assert out["accepted"] is True and out["requestId"] == "deploy-42"
    assert events_of(app, STARTED) == [{"requestId": "deploy-42", "rolloutId": out["rolloutId"], "prefix": "quay"}]
    assert "requestId" not in app.execution_input(out["rolloutId"])  # kept on the rollout record, not in the input

    results = [
        {"rolloutId": out["rolloutId"], "region": r, "status": "SUCCEEDED", "step": "ApplyTemplate", "changes": {}}
        for r in QUAY["regions"]
    ]
    FINISH.handler({"rolloutId": out["rolloutId"], "prefix": "quay", "regionResults": results}, FakeContext())
    [finished] = events_of(app, FINISHED)
    assert finished["requestId"] == "deploy-42" and finished["status"] == "SUCCEEDED"


def test_a_request_without_a_request_id_is_answered_with_a_null_one(app: AppEnv) -> None:
    out = TRIGGER.handler(requested(QUAY), FakeContext())
    assert events_of(app, STARTED) == [{"requestId": None, "rolloutId": out["rolloutId"], "prefix": "quay"}]


def test_a_rejected_request_echoes_its_request_id_and_never_the_credential(app: AppEnv) -> None:
    detail = {
        "requestId": "ticket 7/β",
        "upstreamRegistry": "docker-hub",
        "credentials": {"username": "u", "accessToken": CANARY},
        "regions": ["eu-west-1"],
    }
    out = TRIGGER.handler(requested(detail), FakeContext())
    [rejected] = events_of(app, REJECTED)
    assert out["accepted"] is False and rejected["requestId"] == "ticket 7/β"
    assert rejected["field"] == "detail.credentials" and CANARY not in json.dumps(rejected)


def test_a_busy_prefix_is_rejected_with_the_request_id_and_the_running_rollout(app: AppEnv) -> None:
    first = TRIGGER.handler(requested(QUAY | {"requestId": "a"}), FakeContext())
    TRIGGER.handler(requested(QUAY | {"regions": ["us-west-2"], "requestId": "b"}), FakeContext())
    [rejected] = events_of(app, REJECTED)
    assert rejected["requestId"] == "b" and rejected["rolloutId"] == first["rolloutId"]


@pytest.mark.parametrize(
    "request_id",
    ["", "x" * 65, 42, ["a"], "line\nbreak", "tab\there", "nul\x00"],
    ids=["empty", "65-chars", "number", "list", "newline", "tab", "nul"],
)
def test_a_bad_request_id_is_refused_naming_the_field_before_anything_starts(app: AppEnv, request_id: Any) -> None:
    out = TRIGGER.handler(requested(QUAY | {"requestId": request_id}), FakeContext())
    assert out["accepted"] is False and out["field"] == "detail.requestId"
    assert "64 printable characters" in out["reason"]
    [rejected] = events_of(app, REJECTED)
    assert rejected["requestId"] is None and rejected["field"] == "detail.requestId"
    assert app.executions() == []


def test_a_64_character_request_id_is_accepted(app: AppEnv) -> None:
    out = TRIGGER.handler(requested(QUAY | {"requestId": "x" * 64}), FakeContext())
    assert out["accepted"] is True


def test_a_rollout_closed_as_a_last_resort_still_echoes_the_request_id(app: AppEnv) -> None:
    out = TRIGGER.handler(requested(QUAY | {"requestId": "deploy-43"}), FakeContext())
    app.emitted()  # drop Started
    close(rollouts_from_env(), out["rolloutId"], "quay", {"Error": "States.Runtime", "Cause": "boom"})
    [finished] = events_of(app, FINISHED)
    assert finished["requestId"] == "deploy-43" and finished["status"] == "FAILED"


def test_the_same_request_again_while_its_rollout_runs_is_answered_with_that_rollout(app: AppEnv) -> None:
    first = TRIGGER.handler(requested(QUAY | {"requestId": "a"}), FakeContext())
    again = TRIGGER.handler(requested(QUAY | {"requestId": "b"}), FakeContext())
    assert again["accepted"] is True and again["rolloutId"] == first["rolloutId"]
    started = events_of(app, STARTED)
    assert [(e["requestId"], e["rolloutId"]) for e in started] == [("a", first["rolloutId"]), ("b", first["rolloutId"])]
    assert len(app.executions()) == 1
