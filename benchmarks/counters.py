"""Count what the handlers do: every AWS API call they make, and every Lambda invocation.

API calls are counted on the client side: ``pullthrough.aws.client`` (the one place the app makes boto3 clients)
is wrapped so each client gets a botocore ``before-call`` hook. Each call is attributed to the function and the
task region (the Map iteration) that made it through a thread-local that the in-process Lambda runner's
``before_call`` hook sets; the runner's ``after_call`` hook records the invocation and its thread CPU time.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from local import lambda_runner

# Operations that only read. Everything else counts as a write (unknown names too: the safe side).
READ_PREFIXES = ("Describe", "Get", "List", "Validate", "Query", "Scan", "BatchGet")
_HOOK_ID = "pullthrough-benchmark-counter"


def is_write(operation: str) -> bool:
    """Whether an API operation changes something (ValidatePullThroughCacheRule does not)."""
    return not operation.startswith(READ_PREFIXES)


# The app's own bookkeeping in its table: not a change to the resources a rollout manages.
BOOKKEEPING = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"})


def changes_resources(operation: str) -> bool:
    """Whether a call changes a managed resource (an ECR rule or template, a secret), not the app's own table."""
    return is_write(operation) and operation not in BOOKKEEPING


@dataclass(frozen=True)
class Call:
    """One API call a handler made."""

    function: str | None  # the Lambda function name; None outside an invocation
    task_region: str | None  # the region of the task (Map iteration) being served
    service: str
    region: str  # the client's region (where the call went)
    operation: str

    @property
    def write(self) -> bool:
        return is_write(self.operation)


@dataclass(frozen=True)
class InvocationRecord:
    """One in-process Lambda invocation: which function, for which region, how long, how much CPU."""

    function: str
    task_region: str | None
    started: float
    ended: float
    cpu: float  # thread CPU seconds spent in the handler (its SDK calls' client side included; not its pool's)
    errored: bool


class _Context(threading.local):
    cpu_started: float = 0.0


# The invocation a call belongs to: a context variable, so a handler's thread pool (the snapshot's reads) carries it
# (local.invocation_scope makes ThreadPoolExecutor.submit run the worker in a copy of the submitter's context).
_invocation: ContextVar[tuple[str | None, str | None]] = ContextVar("bench_invocation", default=(None, None))


class Counters:
    """Installs the call and invocation hooks; keeps everything they see (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._context = _Context()
        self.calls: list[Call] = []
        self.invocations: list[InvocationRecord] = []
        self._real_client: Callable[..., Any] | None = None

    # -- installation -----------------------------------------------------------------------------------------
    def install(self) -> None:
        """Wrap ``pullthrough.aws.client`` and add the runner hooks (idempotent)."""
        from pullthrough import aws

        if self._real_client is None:
            self._real_client = aws.client
            aws.client = self._counting_client
        if self._before not in lambda_runner.before_call:
            lambda_runner.before_call.append(self._before)
            lambda_runner.after_call.append(self._after)

    def uninstall(self) -> None:
        """Put ``pullthrough.aws.client`` and the runner hooks back as they were."""
        from pullthrough import aws

        if self._real_client is not None:
            aws.client = self._real_client
            self._real_client = None
        if self._before in lambda_runner.before_call:
            lambda_runner.before_call.remove(self._before)
            lambda_runner.after_call.remove(self._after)

    def _counting_client(self, service: str, region: str, **options: Any) -> Any:
        assert self._real_client is not None
        made = self._real_client(service, region, **options)

        def record(model: Any, **_: Any) -> None:
            call = Call(*_invocation.get(), service, region, model.name)
            with self._lock:
                self.calls.append(call)

        # unique_id: registering again for a cached client is a no-op, so every call counts once.
        made.meta.events.register("before-call.*.*", record, unique_id=_HOOK_ID)
        return made

    def _before(self, function: str, event: Any) -> None:
        _invocation.set((function, event.get("region") if isinstance(event, dict) else None))
        self._context.cpu_started = time.thread_time()

    def _after(self, done: lambda_runner.Invocation) -> None:
        record = InvocationRecord(
            function=done.function_name,
            task_region=_invocation.get()[1],
            started=done.started,
            ended=done.ended,
            cpu=time.thread_time() - self._context.cpu_started,
            errored=done.errored,
        )
        _invocation.set((None, None))
        with self._lock:
            self.invocations.append(record)

    # -- reading ----------------------------------------------------------------------------------------------
    def mark(self) -> tuple[int, int]:
        """A bookmark: calls and invocations recorded after it are returned by ``since``."""
        with self._lock:
            return len(self.calls), len(self.invocations)

    def since(self, mark: tuple[int, int]) -> tuple[list[Call], list[InvocationRecord]]:
        with self._lock:
            return self.calls[mark[0] :], self.invocations[mark[1] :]


def count_by(calls: Iterable[Call], key: Callable[[Call], Any]) -> Counter[Any]:
    """How many calls fall under each ``key(call)``."""
    return Counter(key(call) for call in calls)
