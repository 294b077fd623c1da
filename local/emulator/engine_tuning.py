"""Cut the emulator's own CPU per request: moto's engine caches, and a heap the garbage collector need not walk.

moto's Step Functions engine parses the state machine's definition again (ANTLR, about 0.2 s of CPU for ours) at
the start of every execution; its ASL interpreter builds a new jsonpath-ng parser (a yacc table) for every JSONPath
it evaluates and a new boto3 client for every Task state it runs; moto's server lists its own package directory,
and lists a response class's methods (``inspect.getmembers``), on every request, and builds a service's table of
error shapes again for every error it serialises (and Flask, moto's apps being in debug mode, a new class per
request); and the embedded stack's process holds millions of long-lived objects (moto's backends, botocore's
service models) that every full garbage collection walks again while holding the GIL. None of that exists on AWS, but in one GIL-bound process it adds up
per region. ``install()`` caches the first seven (``uninstall()`` puts moto's back; the parsed program is shared by
executions of one definition: its components keep no state of their own while evaluating, that lives in each
execution's Environment);
``install()`` also makes an execution stopped by hand (StopExecution) end ABORTED, as on AWS: moto's engine lets
the states it interrupts fail on its own internals ("pop from empty list") and reports that as FAILED.
``freeze_heap()`` moves every object alive now out of the collector's reach (``gc.freeze()``) and
``thaw_heap()`` gives them back, so a stopped stack's objects can be freed.

    install()                 # before the engine runs (the stack: when it starts the emulator)
    freeze_heap()             # once the long-lived objects exist (the stack: after provisioning)
    thaw_heap(); uninstall()  # when the stack stops
"""

from __future__ import annotations

import functools
import gc
import sys
import threading
from collections.abc import Callable
from typing import Any

_JSON_PATH_MODULES = (
    "moto.stepfunctions.parser.asl.utils.json_path",
    "moto.stepfunctions.parser.asl.component.common.path.result_path",
)
_lock = threading.Lock()
_saved: list[tuple[Any, str, Any]] = []


def is_installed() -> bool:
    return bool(_saved)


def install() -> None:
    """Cache moto's parsed definitions, JSONPath parsers, its engine's per-task SDK clients and its module list
    (idempotent)."""
    import flask.debughelpers
    import moto.backends
    import moto.core.errors
    import moto.core.responses
    import moto.stepfunctions.parser.asl.component.common.path.result_path
    import moto.stepfunctions.parser.asl.utils.boto_client as boto_client
    import moto.stepfunctions.parser.asl.utils.json_path  # its parse is cached below
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication, Execution
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    with _lock:
        if _saved:
            return
        for module_name in _JSON_PATH_MODULES:
            module = sys.modules[module_name]
            _patch(module, "parse", functools.lru_cache(maxsize=4096)(module.parse))
        original_client = boto_client.boto_client_for
        cached_client = _cached_clients(original_client)
        # Every module that imported moto's function by name (compared with the original: the loop patches
        # boto_client itself on the way, and the modules after it must still match).
        for module in list(sys.modules.values()):
            if getattr(module, "__name__", "").startswith("moto.stepfunctions") and (
                getattr(module, "boto_client_for", None) is original_client
            ):
                _patch(module, "boto_client_for", cached_client)
        programs = functools.lru_cache(maxsize=64)(lambda definition: AmazonStateLanguageParser.parse(definition)[0])

        def entrypoint(worker: Any) -> Any:
            return programs(worker._evaluation_details.state_machine_details.definition)

        _patch(ExecutionWorker, "_get_evaluation_entrypoint", entrypoint)
        _patch(
            moto.core.responses,
            "method_names_from_class",
            _cached_method_names(moto.core.responses.method_names_from_class),
        )
        _patch(flask.debughelpers, "attach_enctype_error_multidict", _attach_files_error)
        shared_errors = moto.core.errors.ErrorLookupFactory()  # its cache is per instance; moto makes one per error
        _patch(moto.core.errors, "ErrorLookupFactory", lambda: shared_errors)
        modules = tuple(moto.backends.list_of_moto_modules())
        _patch(moto.backends, "list_of_moto_modules", lambda: iter(modules))
        _patch(Execution, "stop", _remembering_stop(Execution.stop))
        _patch(
            BaseExecutionWorkerCommunication,
            "_reflect_execution_status",
            _aborted_when_stopped(BaseExecutionWorkerCommunication._reflect_execution_status),
        )


def uninstall() -> None:
    """Put moto's own functions back."""
    with _lock:
        while _saved:
            target, name, value = _saved.pop()
            setattr(target, name, value)


def freeze_heap() -> None:
    """Collect once, then keep every surviving object out of later collections (until ``thaw_heap``)."""
    gc.collect()
    gc.freeze()


def thaw_heap() -> None:
    gc.unfreeze()


def _remembering_stop(original: Callable[..., None]) -> Callable[..., None]:
    def stop(execution: Any, *args: Any, **kwargs: Any) -> None:
        execution.stopped_by_hand = True
        original(execution, *args, **kwargs)

    return stop


def _aborted_when_stopped(original: Callable[[Any], None]) -> Callable[[Any], None]:
    """The execution's final status; ABORTED (no error, no cause) for one stopped by hand, whatever its
    interrupted states did after the stop."""
    from moto.stepfunctions.parser.api import ExecutionStatus

    def reflect(communication: Any) -> None:
        original(communication)
        execution = communication.execution
        if getattr(execution, "stopped_by_hand", False) and execution.exec_status != ExecutionStatus.SUCCEEDED:
            execution.exec_status = ExecutionStatus.ABORTED
            execution.error = execution.cause = None

    return reflect


def _patch(target: Any, name: str, value: Any) -> None:
    _saved.append((target, name, getattr(target, name)))
    setattr(target, name, value)


def _cached_method_names(original: Callable[[type], list[str]]) -> Callable[[type], list[str]]:
    """``method_names_from_class`` (``inspect.getmembers`` over a whole response class, on every request) computed
    once per class, and again whenever a class on its MRO gained or lost an attribute since (compared by name sets:
    a C-speed set comparison instead of getattr on every name)."""
    found: dict[type, tuple[list[str], list[frozenset[str]]]] = {}

    def cached(clazz: type) -> list[str]:
        entry = found.get(clazz)
        mro = clazz.__mro__
        if (
            entry is None
            or len(entry[1]) != len(mro)
            or any(vars(base).keys() != names for base, names in zip(mro, entry[1], strict=True))
        ):
            entry = found[clazz] = (original(clazz), [frozenset(vars(base)) for base in mro])
        return list(entry[0])

    return cached


def _attach_files_error(request: Any) -> None:
    """Flask's debug-mode helper (moto's apps run in debug mode) that makes ``request.files[key]`` explain a
    missing ``enctype`` when ``key`` is a form field: Flask builds a new class for it on every request; this one
    reuses one class per files class, and finds the request through Flask's context instead of a closure."""
    request.files.__class__ = _files_class(request.files.__class__)


@functools.cache
def _files_class(base: type) -> type:
    from flask import request as current
    from flask.debughelpers import DebugFilesKeyError

    class Files(base):
        def __getitem__(self, key: str) -> Any:
            try:
                return super().__getitem__(key)
            except KeyError as error:
                if key not in current.form:
                    raise
                raise DebugFilesKeyError(current, key).with_traceback(error.__traceback__) from None

    Files.__name__, Files.__qualname__ = base.__name__, base.__qualname__
    return Files


def _cached_clients(original: Callable[..., Any]) -> Callable[..., Any]:
    """``boto_client_for`` that makes one client per (region, service, role, endpoint): botocore clients are
    thread-safe, and the engine's Task states make the same few calls (Lambda Invoke, DynamoDB) thousands of times.

    The engine passes every Task's credentials (the execution role, or the Task's own ``Credentials``); moto's
    function ignores them today, but the role stays in the key so a moto that honours it gets one client per role.
    """
    clients: dict[tuple[Any, ...], Any] = {}
    lock = threading.Lock()

    def cached(region: str, service: str, state_credentials: Any = None) -> Any:
        from moto.core.models import botocore_stubber
        from moto.settings import moto_server_port

        role = None if state_credentials is None else state_credentials.role_arn
        key = (region, service, role, bool(botocore_stubber.enabled), moto_server_port())
        with lock:
            if key not in clients:
                clients[key] = original(region, service, state_credentials)
            return clients[key]

    return cached
