"""The in-process Lambda runner: each invocation's log lines name its own function, even when invocations of
different functions run at once and share Powertools' Logger (whose keys are process-wide)."""

from __future__ import annotations

import inspect
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from local import lambda_runner

HANDLER = """
import io
import threading

from aws_lambda_powertools import Logger

STREAM = io.StringIO()
BOTH_STARTED = threading.Barrier(2)
logger = Logger(service="runner-test", stream=STREAM)


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    BOTH_STARTED.wait(10)  # both invocations have set the Logger's keys before either logs
    logger.info("step ran")
    return {}
"""


@pytest.fixture
def installed() -> Iterator[None]:
    lambda_runner.install()
    yield
    lambda_runner.uninstall()


def test_concurrent_invocations_of_two_functions_log_their_own_names(installed: None, tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(HANDLER)
    code = lambda_runner.FunctionCode(tmp_path)

    def invoke(name: str) -> None:
        context = lambda_runner.LambdaContext(
            name, f"arn:aws:lambda:us-east-1:123456789012:function:{name}", 256, 30, "us-east-1"
        )
        body, errored = lambda_runner.run(code, {}, context)
        assert not errored, body

    threads = [threading.Thread(target=invoke, args=(name,)) for name in ("StoreSecret", "CreateRule")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stream = inspect.unwrap(lambda_runner.load_handler(code)).__globals__["STREAM"]
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert sorted(line["function_name"] for line in lines) == ["CreateRule", "StoreSecret"]
    assert all(line["function_arn"].endswith(":" + line["function_name"]) for line in lines)
