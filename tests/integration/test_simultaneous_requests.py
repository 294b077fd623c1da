"""Identical requests sent at the same moment share one rollout: the prefix's lock records the request it was taken
for, so a request that finds the lock held for the same request joins that rollout instead of answering 409."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.integration.app_support import AppEnv, api, provision

QUAY = {"upstreamRegistry": "quay", "regions": ["us-east-1", "eu-west-1"]}
SENDERS = 4


@pytest.fixture
def app(moto_aws: None, monkeypatch: pytest.MonkeyPatch) -> AppEnv:
    return provision(monkeypatch)


def _at_once(body: dict[str, Any], headers: list[dict[str, str]] | None = None) -> list[tuple[int, Any]]:
    ready = threading.Barrier(SENDERS)

    def send(i: int) -> tuple[int, Any]:
        ready.wait()
        return api("POST", "/rules", body, headers=headers[i] if headers else None)

    with ThreadPoolExecutor(SENDERS) as pool:
        return list(pool.map(send, range(SENDERS)))


def test_four_identical_requests_at_once_start_one_rollout_and_all_get_its_id(app: AppEnv) -> None:
    answers = _at_once(QUAY)
    assert [status for status, _ in answers] == [202] * SENDERS, answers
    assert len({answer["rolloutId"] for _, answer in answers}) == 1
    assert len(app.executions()) == 1
    assert {answer["status"] for _, answer in answers} == {"RUNNING"}


def test_the_same_idempotency_key_at_once_shares_one_rollout(app: AppEnv) -> None:
    answers = _at_once(QUAY, [{"Idempotency-Key": "deploy-7"}] * SENDERS)
    assert [status for status, _ in answers] == [202] * SENDERS, answers
    assert len({answer["rolloutId"] for _, answer in answers}) == 1
    assert len(app.executions()) == 1


def test_different_requests_for_one_prefix_at_once_still_get_409(app: AppEnv) -> None:
    other = QUAY | {"regions": ["us-east-1"]}
    ready = threading.Barrier(2)

    def send(body: dict[str, Any]) -> int:
        ready.wait()
        return api("POST", "/rules", body)[0]

    with ThreadPoolExecutor(2) as pool:
        statuses = sorted(pool.map(send, [QUAY, other]))
    assert statuses == [202, 409]
    assert len(app.executions()) == 1
