"""POST /rules reads top to bottom (issue 19): the request enters each step module of the start use case once, in
the order of its pipeline, on its way to StartExecution."""

from __future__ import annotations

import sys
from types import FrameType
from typing import Any

import pytest

from tests.integration.app_support import AppEnv, api, provision

STEPS = (
    "pullthrough.rollouts.start",
    "pullthrough.rollouts.checks",
    "pullthrough.targets",
    "pullthrough.rollouts.lock",
    "pullthrough.rollouts.source",
    "pullthrough.rollouts.record",
    "pullthrough.rollouts.execution",
    "pullthrough.rollouts.launch",
)


@pytest.fixture
def app(moto_aws: None, monkeypatch: pytest.MonkeyPatch) -> AppEnv:
    return provision(monkeypatch)


def test_post_rules_enters_each_step_module_once_in_pipeline_order(app: AppEnv) -> None:
    entered: list[str] = []

    def profile(frame: FrameType, event: str, _: Any) -> None:
        if event != "call":
            return
        module = frame.f_globals.get("__name__")
        caller = frame.f_back.f_globals.get("__name__") if frame.f_back is not None else None
        if module in STEPS and caller != module:
            entered.append(str(module))

    body = {
        "upstreamRegistry": "docker-hub",
        "credentials": {"username": "u", "accessToken": "t"},
        "regions": ["eu-west-1"],
    }
    sys.setprofile(profile)
    try:
        status, answer = api("POST", "/rules", body)
    finally:
        sys.setprofile(None)
    assert status == 202, answer
    assert entered == list(STEPS)
