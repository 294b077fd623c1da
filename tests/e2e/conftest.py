"""The embedded stack for end-to-end tests: one EmbeddedStack per module on free ports, plus helpers to drive it.

def test_something(stack, api, wait_rollout):
    status, started = api("POST", "/rules", {...})
    finished = wait_rollout(started["rolloutId"])
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest

from local import faults, lambda_runner
from local.emulator import ecr_extension
from local.stack import EmbeddedStack
from pullthrough.adapters.store import RolloutStore
from pullthrough.desired import targets
from pullthrough.rollouts.execution import execution_input

HOME_ACCOUNT = "123456789012"  # the embedded stack's (moto's default account)
ROLLOUT_TIMEOUT = 120.0  # generous: a loaded 2-core machine, Retry backoff in the state machine


class ApiCall(Protocol):
    def __call__(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]: ...


@pytest.fixture(autouse=True)
def _fake_aws_env() -> None:
    """Overrides the suite-wide fixture: the stack owns the process environment (endpoint, credentials)."""


@pytest.fixture(scope="module")
def stack() -> Iterator[EmbeddedStack]:
    """The app on the emulator (free ports, functions' logs at WARNING), for the whole module.

    Every AWS call a handler makes is checked against its function's policies in template.yaml: a call the
    template does not grant fails the module here, even when the app swallowed or retried the AccessDenied.
    """
    with EmbeddedStack(aws_port=0, api_port=0, parameters={"LogLevel": "WARNING"}) as running:
        yield running
        denials = running.iam_denials
        assert not denials, "calls template.yaml does not grant:\n" + "\n".join(sorted(set(denials)))


@pytest.fixture(autouse=True)
def _no_faults() -> Iterator[None]:
    ecr_extension.clear()
    faults.clear()
    yield
    ecr_extension.clear()
    faults.clear()


@pytest.fixture
def step_faults(stack: EmbeddedStack) -> Iterator[faults.StepFaults]:
    """Step-level fault injection (local.faults) bound to the stack's functions; unhooked after the test."""
    faults.install(stack.function_names)
    yield faults.FAULTS
    faults.uninstall()


def call_api(
    base: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    """One unsigned request to the local API: (status, decoded JSON body or text)."""
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(
        base + path, data=data, method=method, headers={"content-type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


@pytest.fixture
def api(stack: EmbeddedStack) -> ApiCall:
    """``api(method, path, body=None, headers=None) -> (status, json)`` against the stack's local API."""

    def _call(method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        return call_api(stack.api_url, method, path, body, headers)

    return _call


def wait_until[T](probe: Callable[[], T | None], timeout: float, what: str, interval: float = 0.1) -> T:
    """Call ``probe`` until it returns something other than None (or False); fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found is not None and found is not False:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)
        interval = min(interval * 1.5, 0.5)


@pytest.fixture
def wait_rollout(api: ApiCall) -> Callable[..., dict[str, Any]]:
    """``wait_rollout(rollout_id, timeout=120) -> GET /rollouts/{id}`` once its status is no longer RUNNING."""

    def _wait(rollout_id: str, timeout: float = ROLLOUT_TIMEOUT) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            status, view = api("GET", f"/rollouts/{rollout_id}")
            assert status == 200, (status, view)
            return view if view["status"] != "RUNNING" else None

        return wait_until(probe, timeout, f"rollout {rollout_id} to end")

    return _wait


# -- driving the state machine directly --------------------------------------------------------------------


def new_rollout_id() -> str:
    return f"r-e2e{uuid.uuid4().hex[:16]}"


def source_secret(stack: EmbeddedStack, name: str, value: dict[str, str]) -> str:
    """A home-region source secret ``ecr-pullthroughcache/_source/<name>``; its ARN."""
    made = stack.client("secretsmanager").create_secret(
        Name=f"ecr-pullthroughcache/_source/{name}", SecretString=json.dumps(value)
    )
    return str(made["ARN"])


def put_rollout_item(stack: EmbeddedStack, rollout_id: str, prefix: str, regions: list[str]) -> None:
    """The rollout record the state machine updates, written by the app's own store (as the API does first)."""
    store = RolloutStore(stack.client("dynamodb"), stack.environment["TABLE_NAME"])
    store.put_rollout(
        {
            "rolloutId": rollout_id,
            "prefix": prefix,
            "operation": "APPLY",
            "status": "RUNNING",
            "failedCount": 0,
            "regions": {region: {"status": "PENDING"} for region in regions},
        }
    )


def get_rollout_item(stack: EmbeddedStack, rollout_id: str) -> dict[str, Any]:
    found = stack.client("dynamodb").get_item(
        TableName=stack.environment["TABLE_NAME"],
        Key={"pk": {"S": f"ROLLOUT#{rollout_id}"}, "sk": {"S": "ROLLOUT"}},
        ConsistentRead=True,
    )
    return dict(found.get("Item", {}))


def rollout_input(
    rollout_id: str,
    rule: dict[str, str],
    regions: list[str],
    *,
    source_secret_arn: str | None = None,
    creation_template: dict[str, Any] | None = None,
    max_concurrency: int = 0,
    failure_tolerance: int = 0,
) -> dict[str, Any]:
    """A state machine input as the rollout service builds it (ARNs only, no credential value)."""
    return execution_input(
        rollout_id,
        "APPLY",
        {"rule": rule, "sourceSecretArn": source_secret_arn, "creationTemplate": creation_template},
        targets(regions, None, HOME_ACCOUNT),
        home=HOME_ACCOUNT,
        max_concurrency=max_concurrency,
        failure_tolerance=failure_tolerance,
        settle_seconds=1,
    )


def run_rollout(
    stack: EmbeddedStack, execution_input: dict[str, Any], timeout: float = ROLLOUT_TIMEOUT
) -> dict[str, Any]:
    """Record the rollout, start its execution (named after the rollout) and wait for it; DescribeExecution."""
    rollout_id = execution_input["rolloutId"]
    put_rollout_item(stack, rollout_id, execution_input["rule"]["ecrRepositoryPrefix"], execution_input["regions"])
    started = stack.client("stepfunctions").start_execution(
        stateMachineArn=stack.state_machine_arn, name=rollout_id, input=json.dumps(execution_input)
    )
    return stack.wait_for_execution(started["executionArn"], timeout=timeout)


def execution_history(stack: EmbeddedStack, execution_arn: str) -> list[dict[str, Any]]:
    sfn = stack.client("stepfunctions")
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        events.extend(page["events"])
    return events


# -- extra functions (run in process like the template's) --------------------------------------------------


def add_python_function(stack: EmbeddedStack, tmp_path: Path, name: str, source: str) -> str:
    """A Lambda function ``name`` whose app.py is ``source``; its ARN."""
    code_dir = tmp_path / name
    code_dir.mkdir(parents=True, exist_ok=True)
    (code_dir / "app.py").write_text(source)
    return stack.add_function(name, lambda_runner.FunctionCode(code_dir))
