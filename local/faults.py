"""Step-level fault injection for the in-process Lambda runner (process-wide, thread-safe).

Make the next N invocations of a state machine step's function, for one target region, fail with a given error
name, before its handler runs:

    faults.install(stack.function_names)                  # once per stack (idempotent)
    faults.inject_step_fault("CreateRuleFunction", "eu-west-1", error_type="AwsTransientError", times=1)
    ...
    faults.clear()

``hold(...)`` pauses a step the same way (its invocations wait until ``release()``), to keep a rollout RUNNING
for as long as a test needs without sleeping.

The failed invocation answers like a handler that raised: ``{"errorType", "errorMessage"}`` with the function-error
flag, so the state machine's Retry/Catch match on ``error_type`` exactly as on the app's own exception class names.
The function is named by its template logical id (``CreateRuleFunction``), its step (``CreateRule``) or its deployed
name (``pullthrough-CreateRuleFunction``). The region is the task's ``region`` field (a step's target region, not
the function's home region); ``prefix`` narrows the match to one rule, so a fault cannot fire in another rollout.

Every invocation of a known function is recorded (``invocations()``), injected or not: tests use it to show that
a region was never touched or that a fault was retried.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from local import lambda_runner

#: What a transient failure is called by default: the state machine retries it with backoff and jitter.
TRANSIENT = "AwsTransientError"


@dataclass
class StepFault:
    """Fail the next ``remaining`` matching invocations of ``function_name`` (None: until cleared)."""

    function_name: str
    region: str | None
    error_type: str
    message: str
    prefix: str | None = None
    remaining: int | None = 1
    hits: int = 0

    def matches(self, function_name: str, region: str | None, prefix: str | None) -> bool:
        return self.function_name == function_name and self.region in (None, region) and self.prefix in (None, prefix)


class StepHold:
    """Invocations of ``function_name`` (for ``region`` / ``prefix``) wait until ``release()``: a paused rollout.

    ``reached`` is set once an invocation is waiting. A held invocation gives up after ``timeout`` seconds and
    runs anyway, so a forgotten hold cannot hang a test run.
    """

    def __init__(self, function_name: str, region: str | None, prefix: str | None, timeout: float) -> None:
        self.function_name = function_name
        self.region = region
        self.prefix = prefix
        self.timeout = timeout
        self.reached = threading.Event()
        self._released = threading.Event()

    def matches(self, function_name: str, region: str | None, prefix: str | None) -> bool:
        return self.function_name == function_name and self.region in (None, region) and self.prefix in (None, prefix)

    def release(self) -> None:
        self._released.set()

    def wait(self) -> None:
        self.reached.set()
        self._released.wait(self.timeout)


@dataclass(frozen=True)
class StepInvocation:
    """One invocation the hook saw: which function (logical id), for which region and prefix, and its fault."""

    function: str
    region: str | None
    prefix: str | None
    injected: str | None  # the error type forced on it, None when the handler ran


def _task_region(payload: Any) -> str | None:
    region = payload.get("region") if isinstance(payload, dict) else None
    return region if isinstance(region, str) else None


def _task_prefix(payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return None
    rule = payload.get("rule")
    prefix = rule.get("ecrRepositoryPrefix") if isinstance(rule, dict) else payload.get("prefix")
    return prefix if isinstance(prefix, str) else None


class StepFaults:
    """The registry behind ``inject_step_fault``; its ``before_call`` hook is what the runner calls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[StepFault] = []
        self._names: dict[str, str] = {}  # logical id -> function name
        self._invocations: list[StepInvocation] = []
        self._holds: list[StepHold] = []

    # -- set-up ---------------------------------------------------------------------------------------------
    def bind(self, function_names: Mapping[str, str]) -> None:
        """Learn the stack's functions: logical id -> deployed name (``EmbeddedStack.function_names``)."""
        with self._lock:
            self._names = dict(function_names)

    def resolve(self, function: str) -> str:
        """The deployed function name for a logical id, a step name or a deployed name; ValueError otherwise."""
        with self._lock:
            names = dict(self._names)
        if function in names:
            return names[function]
        if f"{function}Function" in names:
            return names[f"{function}Function"]
        if function in names.values():
            return function
        known = ", ".join(sorted(names)) or "none: call install(stack.function_names) first"
        raise ValueError(f"unknown function {function!r}; known logical ids: {known}")

    # -- the API ----------------------------------------------------------------------------------------------
    def inject(
        self,
        function: str,
        region: str | None,
        *,
        error_type: str = TRANSIENT,
        times: int | None = 1,
        message: str | None = None,
        prefix: str | None = None,
    ) -> StepFault:
        """Make the next ``times`` invocations of ``function`` for ``region`` fail with ``error_type``.

        ``region`` None matches every region; ``times`` None fails every matching invocation until ``clear()``.
        Faults are consumed in the order they were injected.
        """
        if not error_type:
            raise ValueError("error_type must not be empty")
        if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
            raise ValueError(f"times must be a positive integer or None, not {times!r}")
        fault = StepFault(
            function_name=self.resolve(function),
            region=region,
            error_type=error_type,
            message=message or f"injected {error_type} for {function} in {region or 'every region'}",
            prefix=prefix,
            remaining=times,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def hold(
        self, function: str, region: str | None = None, *, prefix: str | None = None, timeout: float = 60.0
    ) -> StepHold:
        """Make invocations of ``function`` (for ``region`` / ``prefix``) wait until the hold is released."""
        held = StepHold(self.resolve(function), region, prefix, timeout)
        with self._lock:
            self._holds.append(held)
        return held

    def clear(self) -> None:
        """Drop every fault, release every hold and forget the recorded invocations."""
        with self._lock:
            self._faults.clear()
            self._invocations.clear()
            holds, self._holds = self._holds, []
        for held in holds:
            held.release()

    def pending(self) -> list[dict[str, Any]]:
        """The faults still armed, as dicts."""
        with self._lock:
            return [asdict(fault) for fault in self._faults]

    def invocations(
        self, function: str | None = None, region: str | None = None, prefix: str | None = None
    ) -> list[StepInvocation]:
        """The invocations seen since the last ``clear()``, optionally only those of a function/region/prefix."""
        wanted = self._logical_id(self.resolve(function)) if function is not None else None
        with self._lock:
            seen = list(self._invocations)
        return [
            call
            for call in seen
            if wanted in (None, call.function) and region in (None, call.region) and prefix in (None, call.prefix)
        ]

    # -- the runner hook --------------------------------------------------------------------------------------
    def _logical_id(self, function_name: str) -> str:
        return next((lid for lid, name in self._names.items() if name == function_name), function_name)

    def before_call(self, function_name: str, payload: Any) -> None:
        """lambda_runner hook: record the invocation; raise InjectedFault when a fault matches it."""
        region, prefix = _task_region(payload), _task_prefix(payload)
        with self._lock:
            held = next((h for h in self._holds if h.matches(function_name, region, prefix)), None)
        if held is not None:
            held.wait()
        with self._lock:
            fault = next((f for f in self._faults if f.matches(function_name, region, prefix)), None)
            if fault is not None:
                fault.hits += 1
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
            self._invocations.append(
                StepInvocation(
                    self._logical_id(function_name), region, prefix, fault.error_type if fault is not None else None
                )
            )
        if fault is not None:
            raise lambda_runner.InjectedFault(fault.error_type, fault.message)


FAULTS = StepFaults()
_install_lock = threading.Lock()


def install(function_names: Mapping[str, str]) -> None:
    """Bind the stack's function names and hook into the runner (idempotent)."""
    FAULTS.bind(function_names)
    with _install_lock:
        if FAULTS.before_call not in lambda_runner.before_call:
            lambda_runner.before_call.append(FAULTS.before_call)


def uninstall() -> None:
    """Unhook from the runner and drop every fault."""
    with _install_lock:
        if FAULTS.before_call in lambda_runner.before_call:
            lambda_runner.before_call.remove(FAULTS.before_call)
    FAULTS.clear()


def inject_step_fault(
    function: str,
    region: str | None,
    error_type: str = TRANSIENT,
    times: int | None = 1,
    *,
    message: str | None = None,
    prefix: str | None = None,
) -> StepFault:
    """Make the next ``times`` invocations of ``function`` for ``region`` fail with ``error_type`` (see StepFaults)."""
    return FAULTS.inject(function, region, error_type=error_type, times=times, message=message, prefix=prefix)


clear = FAULTS.clear
pending = FAULTS.pending
invocations = FAULTS.invocations
