"""Run moto's Lambda functions in this process instead of in Docker.

``install()`` replaces ``moto.awslambda.models.LambdaFunction._invoke_lambda`` (the one method that needs Docker).
A function registered with ``register()`` runs here: its handler module is imported once under a unique name (every
function's file is ``app.py``) and called with the decoded event and a LambdaContext-like object. Its result goes
back as JSON; an exception goes back as ``{"errorType", "errorMessage"}`` with the function-error flag, so Step
Functions' Retry/Catch match the exception's class name. Unregistered functions keep moto's behaviour.

Log lines name their own invocation: Powertools keeps the Lambda context keys (``function_name`` ...) on one
formatter per Logger, which every function shares in this process, so concurrent invocations overwrote each other's.
``install()`` adds a log record factory that puts the running invocation's keys on each record (a context
variable, carried into the handler's thread pools), and Powertools lets a record's own attributes win.

Nothing here touches ``os.environ`` per call: a function registered with a ``FunctionScope`` runs inside it
(``local.invocation_scope``), which gives it its own environment and identity without changing the process, so
concurrent invocations (Map iterations run in threads) really run concurrently.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from hashlib import sha1
from pathlib import Path
from types import ModuleType
from typing import Any

from moto.awslambda.models import LambdaFunction

from local.invocation_scope import FunctionScope, entered

log = logging.getLogger(__name__)

Handler = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class FunctionCode:
    """Where a function's code lives: a directory and a ``module.function`` handler."""

    code_dir: Path
    handler: str = "app.handler"


@dataclass(frozen=True)
class Invocation:
    """One finished in-process invocation (for hooks: timing, errors)."""

    function_name: str
    region: str
    request_id: str
    started: float  # time.monotonic()
    ended: float
    errored: bool
    error_type: str | None = None
    event: Any = None  # the decoded event it was invoked with


class LambdaContext:
    """The attributes of Lambda's Python context object that handlers and Powertools read."""

    def __init__(self, function_name: str, function_arn: str, memory_mb: int, timeout_s: float, region: str) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function_arn
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"local/{self.aws_request_id}"
        self.identity = None
        self.client_context = None
        self.region = region
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


# (account, region, function name) -> code, and the scope its invocations run in (None: the process's)
_registry: dict[tuple[str, str, str], tuple[FunctionCode, FunctionScope | None]] = {}
_modules: dict[tuple[Path, str], Handler] = {}
_load_lock = threading.Lock()
_original: Callable[..., tuple[str, bool, str]] | None = None
_record_factory: Callable[..., logging.LogRecord] | None = None  # logging's own, while ours is installed
_running: ContextVar[LambdaContext | None] = ContextVar("lambda_runner_invocation", default=None)

#: Called before each in-process invocation with (function name, event): a place to add latency or faults.
#: A hook that raises InjectedFault makes the invocation fail with that error instead of running the handler.
before_call: list[Callable[[str, Any], None]] = []
#: Called after each in-process invocation.
after_call: list[Callable[[Invocation], None]] = []


class InjectedFault(Exception):
    """Raised by a ``before_call`` hook: the invocation fails with ``error_type`` without running the handler.

    The caller gets the same ``{"errorType", "errorMessage"}`` payload and function-error flag as when a handler
    raises, so Step Functions' Retry/Catch match on ``error_type``.
    """

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message


def register(
    function_name: str, code: FunctionCode, *, account_id: str, region: str, scope: FunctionScope | None = None
) -> None:
    """Run ``function_name`` (in that account and region) from ``code``, as ``scope``, when moto invokes it."""
    _registry[(account_id, region, function_name)] = (code, scope)


def unregister_all() -> None:
    """Forget every registered function (loaded modules stay cached)."""
    _registry.clear()


def load_handler(code: FunctionCode) -> Handler:
    """The handler callable, importing its module once under a name unique to its directory."""
    key = (code.code_dir.resolve(), code.handler)
    found = _modules.get(key)
    if found is not None:
        return found
    with _load_lock:
        if key in _modules:
            return _modules[key]
        module_name, _, attr = code.handler.rpartition(".")
        path = key[0] / f"{module_name.replace('.', '/')}.py"
        unique = f"_local_fn_{key[0].name}_{sha1(str(path).encode()).hexdigest()[:8]}_{module_name.replace('.', '_')}"  # noqa: S324
        spec = importlib.util.spec_from_file_location(unique, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module: ModuleType = importlib.util.module_from_spec(spec)
        sys.modules[unique] = module  # pydantic resolves a module's annotations through sys.modules
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(unique, None)
            raise
        handler = getattr(module, attr, None)
        if not callable(handler):
            raise ImportError(f"{path} has no callable {attr!r}")
        _modules[key] = handler
        return handler


def _error(error_type: str, message: str, exc: BaseException | None = None) -> str:
    """The payload Lambda's Python runtime returns for an unhandled exception, stack trace included (Step Functions
    puts all of it in the error's Cause, so its size counts against the state machine's 256 KB)."""
    trace = traceback.format_list(traceback.extract_tb(exc.__traceback__)) if exc is not None else []
    return json.dumps(
        {"errorMessage": message, "errorType": error_type, "stackTrace": trace}
        if exc is not None
        else {"errorType": error_type, "errorMessage": message}
    )


def _decode(event: Any) -> Any:
    if isinstance(event, bytes | bytearray):
        event = event.decode("utf-8")
    if isinstance(event, str):
        try:
            return json.loads(event) if event else {}
        except ValueError:
            return event
    return {} if event is None else event


def _invocation_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
    """A log record carrying the running invocation's Lambda context keys, under Powertools' names."""
    assert _record_factory is not None
    record = _record_factory(*args, **kwargs)
    context = _running.get()
    if context is not None:
        record.function_name = context.function_name
        record.function_arn = context.invoked_function_arn
        record.function_request_id = context.aws_request_id
        record.function_memory_size = context.memory_limit_in_mb
    return record


@contextmanager
def _running_as(context: LambdaContext) -> Iterator[None]:
    token = _running.set(context)
    try:
        yield
    finally:
        _running.reset(token)


def run(code: FunctionCode, event: Any, context: LambdaContext) -> tuple[str, bool]:
    """Call the function's handler; return (JSON payload, errored)."""
    with _running_as(context):
        return _run(code, event, context)


def _run(code: FunctionCode, event: Any, context: LambdaContext) -> tuple[str, bool]:
    try:
        handler = load_handler(code)
    except Exception as exc:
        log.warning("%s: cannot import the handler: %s: %s", context.function_name, type(exc).__name__, exc)
        return _error("Runtime.ImportModuleError", f"Unable to import module {code.handler!r}: {exc}"), True
    try:
        result = handler(event, context)
    except Exception as exc:
        log.info("%s raised %s", context.function_name, type(exc).__name__, exc_info=log.isEnabledFor(logging.DEBUG))
        return _error(type(exc).__name__, str(exc), exc), True
    try:
        return json.dumps(result), False
    except (TypeError, ValueError) as exc:
        return _error("Runtime.MarshalError", f"Unable to marshal response: {exc}"), True


def _invoke_lambda(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
    found = _registry.get((self.account_id, self.region, self.function_name))
    if found is None:
        assert _original is not None
        return _original(self, event)
    code, scope = found
    payload = _decode(event)
    context = LambdaContext(
        function_name=self.function_name,
        function_arn=self.function_arn,
        memory_mb=int(self.memory_size or 128),
        timeout_s=float(self.timeout or 3),
        region=self.region,
    )
    try:
        for hook in list(before_call):
            hook(self.function_name, payload)
    except InjectedFault as fault:
        started = time.monotonic()
        body, errored = _error(fault.error_type, fault.message), True
    else:
        started = time.monotonic()
        with entered(scope):
            body, errored = run(code, payload, context)
    ended = time.monotonic()
    if after_call:
        error_type = json.loads(body).get("errorType") if errored else None
        done = Invocation(
            self.function_name, self.region, context.aws_request_id, started, ended, errored, error_type, payload
        )
        for observer in list(after_call):
            observer(done)
    return body, errored, ""


def install() -> None:
    """Patch moto's LambdaFunction and logging's record factory in this process (idempotent)."""
    global _original, _record_factory
    with _load_lock:
        if _original is None:
            _original = LambdaFunction._invoke_lambda
            LambdaFunction._invoke_lambda = _invoke_lambda  # type: ignore[method-assign]
        if _record_factory is None:
            _record_factory = logging.getLogRecordFactory()
            logging.setLogRecordFactory(_invocation_record)


def uninstall() -> None:
    """Give moto its own ``_invoke_lambda`` back, and logging its record factory."""
    global _original, _record_factory
    with _load_lock:
        if _original is not None:
            LambdaFunction._invoke_lambda = _original  # type: ignore[method-assign]
            _original = None
        if _record_factory is not None:
            logging.setLogRecordFactory(_record_factory)
            _record_factory = None
