"""Test helpers: event fixtures, handler loading, and counting the AWS calls handlers make."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

from pullthrough import aws

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"  # moto's default account
HOME = "us-east-1"
CANARY = "CANARY-7f3c9e1d-credential-value"

# Operations that change something; reads are free to repeat.
WRITE_PREFIXES = ("Create", "Put", "Update", "Delete", "Tag", "Untag", "Restore", "Rotate")


def load_event(name: str, **overrides: Any) -> dict[str, Any]:
    """A sample event from events/, with top-level keys replaced by ``overrides``."""
    event = json.loads((ROOT / "events" / f"{name}.json").read_text())
    event = copy.deepcopy(event)
    event.update(overrides)
    return event


def load_handler(function: str) -> ModuleType:
    """Import functions/<function>/app.py under a unique module name (every function's file is app.py)."""
    path = ROOT / "functions" / function / "app.py"
    spec = importlib.util.spec_from_file_location(f"functions_{function}_app", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the module's annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def create_app_table(name: str) -> None:
    """The app's single table (pk/sk, on demand) in moto's home region, as template.yaml declares it."""
    boto3.client("dynamodb", region_name=HOME).create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


class CallLog:
    """Every AWS call made through pullthrough.aws clients: (service, region, operation), and in ``acting`` the
    account each was made in (None: the home account's own credentials)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.acting: list[str | None] = []
        self._lock = threading.Lock()  # the drift sweep calls from many threads: both lists stay in step

    def record(self, service: str, region: str, operation: str, account: str | None = None) -> None:
        with self._lock:
            self.calls.append((service, region, operation))
            self.acting.append(account)

    def per_target(self, services: tuple[str, ...], home: str) -> Counter[tuple[str, str]]:
        """How many calls of ``services`` went to each (account, region); the home account's own as ``home``."""
        return Counter(
            (account or home, region)
            for (service, region, _), account in zip(self.calls, self.acting, strict=True)
            if service in services
        )

    def writes(self) -> list[tuple[str, str, str]]:
        return [c for c in self.calls if c[2].startswith(WRITE_PREFIXES)]

    def by_operation(self) -> Counter[str]:
        return Counter(op for _, _, op in self.calls)

    def clear(self) -> None:
        self.calls.clear()
        self.acting.clear()


def count_app_calls(monkeypatch: Any) -> CallLog:
    """Record every call the app makes through ``pullthrough.aws.client`` from now until ``monkeypatch`` undoes it.

    Cached clients are dropped first, so each client the app uses from now on is a new one with the hook.
    """
    log = CallLog()
    real_client = aws.client
    hooked: set[int] = set()
    hooking = threading.Lock()  # two threads handed the same client must not both hook it (each call counted twice)

    def counting_client(service: str, region: str, **options: Any) -> Any:
        made = real_client(service, region, **options)
        with hooking:
            if id(made) in hooked:
                return made
            account = options.get("account")
            made.meta.events.register(
                "before-call.*.*",
                lambda model, **_: log.record(service, made.meta.region_name, model.name, account),
            )
            hooked.add(id(made))
        return made

    aws.reset()
    monkeypatch.setattr(aws, "client", counting_client)
    return log


class FakeContext:
    """The few LambdaContext attributes Powertools reads."""

    function_name = "test-function"
    function_version = "$LATEST"
    invoked_function_arn = f"arn:aws:lambda:{HOME}:{ACCOUNT}:function:test-function"
    memory_limit_in_mb = 256
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/test-function"
    log_stream_name = "test"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


OTHER_ACCOUNT = "210987654321"
ECR_UPSTREAM = {
    "upstreamRegistry": "ecr",
    "upstreamRegistryUrl": f"{OTHER_ACCOUNT}.dkr.ecr.us-west-2.amazonaws.com",
    "customRoleArn": f"arn:aws:iam::{ACCOUNT}:role/ecr-pull",
}
# Requests ECR itself refuses (user guide, API reference), each with the field a refusal must name. None carries a
# credential, so each fits the API and the EventBridge trigger alike.
ECR_REFUSALS: dict[str, tuple[dict[str, Any], str]] = {
    "root-with-upstream-prefix": (
        ECR_UPSTREAM | {"ecrRepositoryPrefix": "ROOT", "upstreamRepositoryPrefix": "team-a"},
        "upstreamRepositoryPrefix",
    ),
    "rule-role-of-another-account": (
        ECR_UPSTREAM | {"customRoleArn": f"arn:aws:iam::{OTHER_ACCOUNT}:role/ecr-pull"},
        "customRoleArn",
    ),
    "template-role-of-another-account": (
        {"upstreamRegistry": "quay", "creationTemplate": {"customRoleArn": f"arn:aws:iam::{OTHER_ACCOUNT}:role/t"}},
        "creationTemplate.customRoleArn",
    ),
    "lifecycle-policy-array": (
        {"upstreamRegistry": "quay", "creationTemplate": {"lifecyclePolicy": "[]"}},
        "creationTemplate.lifecyclePolicy",
    ),
    "lifecycle-policy-without-rules": (
        {"upstreamRegistry": "quay", "creationTemplate": {"lifecyclePolicy": '{"rules": []}'}},
        "creationTemplate.lifecyclePolicy",
    ),
    "repository-policy-array": (
        {"upstreamRegistry": "quay", "creationTemplate": {"repositoryPolicy": "[]"}},
        "creationTemplate.repositoryPolicy",
    ),
    "repository-policy-without-statement": (
        {"upstreamRegistry": "quay", "creationTemplate": {"repositoryPolicy": '{"Version": "2012-10-17"}'}},
        "creationTemplate.repositoryPolicy",
    ),
}


def emf_documents(text: str) -> list[tuple[int, dict[str, Any]]]:
    """The embedded-metric-format documents in captured stdout, with where each starts.

    Each is found by its start rather than by line ends: functions running as threads may print at once.
    """
    decoder, start, found = json.JSONDecoder(), 0, []
    while (start := text.find('{"_aws":', start)) >= 0:
        document, end = decoder.raw_decode(text, start)
        found.append((start, document))
        start = end
    return found


def emf_points(documents: list[dict[str, Any]]) -> Counter[tuple[str, tuple[tuple[str, str], ...]]]:
    """(metric, its finest dimension set's values without ``service``) -> value, summed over ``documents``."""
    summed: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()
    for document in documents:
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        finest = max(directive["Dimensions"], key=len)
        dimensions = tuple((name, document[name]) for name in finest if name != "service")
        for metric in directive["Metrics"]:
            summed[(metric["Name"], dimensions)] += sum(document[metric["Name"]])
    return summed


def requested_event(detail: Any) -> dict[str, Any]:
    """A "Pull Through Cache Rule Requested" event as EventBridge hands it to RuleRequestedFunction."""
    return {
        "version": "0",
        "id": "11111111-2222-3333-4444-555555555555",
        "detail-type": "Pull Through Cache Rule Requested",
        "source": "pullthrough",
        "account": ACCOUNT,
        "time": "2026-11-27T00:00:00Z",
        "region": HOME,
        "resources": [],
        "detail": detail,
    }


def invoked_function(value: Any) -> str | None:
    """The function a state machine's DefinitionSubstitutions value invokes: ``!Ref <Function>.Alias`` (its alias
    ``live``, what SnapStart restores) names ``<Function>``; any other value, None."""
    if isinstance(value, dict) and isinstance(value.get("Ref"), str) and value["Ref"].endswith(".Alias"):
        return str(value["Ref"]).removesuffix(".Alias")
    return None


def all_at_once(monkeypatch: pytest.MonkeyPatch, methods: list[tuple[type, str]], timeout: float = 5) -> None:
    """Make each of ``methods`` wait, before it runs, until all of them are in flight: a barrier that breaks (an
    error in each) after ``timeout`` seconds when they are called one after another instead of together."""
    together = threading.Barrier(len(methods), timeout=timeout)

    def waiting(method: Callable[..., Any]) -> Callable[..., Any]:
        def wait_then_call(*args: Any, **kwargs: Any) -> Any:
            together.wait()
            return method(*args, **kwargs)

        return wait_then_call

    for owner, name in methods:
        monkeypatch.setattr(owner, name, waiting(getattr(owner, name)))
