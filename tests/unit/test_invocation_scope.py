"""Per-function environments in one process: ``os.environ`` as each invocation sees it, and thread pools."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from local import invocation_scope
from local.invocation_scope import FunctionScope, entered

API = FunctionScope("ApiFunction", "pullthrough-ApiFunction", {"TABLE_NAME": "rules", "STATE_MACHINE_ARN": "arn:sm"})
FINISH = FunctionScope("FinishRolloutFunction", "pullthrough-FinishRolloutFunction", {"TABLE_NAME": "rules"})


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("TABLE_NAME", raising=False)
    monkeypatch.delenv("STATE_MACHINE_ARN", raising=False)
    monkeypatch.setenv("PROCESS_WIDE", "yes")
    invocation_scope.install()
    try:
        yield
    finally:
        invocation_scope.uninstall()


def test_each_scope_reads_its_own_variables_over_the_process_environment(installed: None) -> None:
    assert os.getenv("TABLE_NAME") is None
    with entered(API):
        assert (os.environ["TABLE_NAME"], os.getenv("STATE_MACHINE_ARN"), os.environ["PROCESS_WIDE"]) == (
            "rules",
            "arn:sm",
            "yes",
        )
        assert {"TABLE_NAME", "STATE_MACHINE_ARN", "PROCESS_WIDE"} <= set(os.environ.copy())
        with entered(FINISH):
            assert "STATE_MACHINE_ARN" not in os.environ
        assert os.environ["STATE_MACHINE_ARN"] == "arn:sm"
    assert "TABLE_NAME" not in os.environ and os.environ["PROCESS_WIDE"] == "yes"


def test_concurrent_invocations_do_not_see_each_others_variables(installed: None) -> None:
    together = threading.Barrier(2, timeout=10)
    seen: dict[str, str | None] = {}

    def run(scope: FunctionScope) -> None:
        with entered(scope):
            together.wait()
            seen[scope.logical_id] = os.getenv("STATE_MACHINE_ARN")

    threads = [threading.Thread(target=run, args=(scope,)) for scope in (API, FINISH)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"ApiFunction": "arn:sm", "FinishRolloutFunction": None}


def test_a_thread_pool_works_for_the_function_that_submitted_to_it(installed: None) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        with entered(API):
            inside = list(pool.map(lambda _: (invocation_scope.current(), os.getenv("TABLE_NAME")), range(4)))
        outside = pool.submit(lambda: (invocation_scope.current(), os.getenv("TABLE_NAME"))).result()
    assert inside == [(API, "rules")] * 4
    assert outside == (None, None)


def test_uninstall_gives_the_process_its_environment_back(monkeypatch: pytest.MonkeyPatch) -> None:
    original, submit = os.environ, ThreadPoolExecutor.submit
    invocation_scope.install()
    invocation_scope.install()  # idempotent
    os.environ["WRITTEN_THROUGH"] = "1"  # writes go to the process environment
    invocation_scope.uninstall()
    assert os.environ is original and ThreadPoolExecutor.submit is submit
    assert original.pop("WRITTEN_THROUGH") == "1"
