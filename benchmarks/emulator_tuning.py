"""A what-if for the report: the emulator's process without three of its overheads.

moto's ASL interpreter builds a new jsonpath-ng parser (a yacc table) for every JSONPath it evaluates and a new boto3
client for every Task state it runs; moto's server lists its own package directory on every request; and the
emulator's process holds millions of long-lived objects (moto's backends, botocore's service models) that every full
garbage collection walks again, holding the GIL for a second or more. None of that exists on AWS, but on one
GIL-bound process it adds up per region. ``emulator_tuned()`` caches the first three and freezes the heap
(``gc.freeze()``) for the duration of a block, so the report can show how much of the gap to the targets is the
emulator's. Nothing here is used outside that labelled measurement.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

_JSON_PATH_MODULES = (
    "moto.stepfunctions.parser.asl.utils.json_path",
    "moto.stepfunctions.parser.asl.component.common.path.result_path",
)


@contextlib.contextmanager
def emulator_tuned() -> Iterator[None]:
    """Inside the block: JSONPath parsers, the engine's per-task SDK clients and moto's module list are cached,
    and the objects alive on entry are frozen out of the garbage collector's reach."""
    import moto.backends
    import moto.stepfunctions.parser.asl.utils.boto_client as boto_client

    saved: list[tuple[Any, str, Any]] = []

    def patch(target: Any, name: str, value: Any) -> None:
        saved.append((target, name, getattr(target, name)))
        setattr(target, name, value)

    for module_name in _JSON_PATH_MODULES:
        module = sys.modules.get(module_name)
        if module is not None and hasattr(module, "parse"):
            patch(module, "parse", functools.lru_cache(maxsize=4096)(module.parse))

    original: Callable[..., Any] = boto_client.boto_client_for
    clients: dict[tuple[Any, ...], Any] = {}
    lock = threading.Lock()

    def cached_client(region: str, service: str, state_credentials: Any = None) -> Any:
        if state_credentials is not None:
            return original(region, service, state_credentials)
        from moto.settings import moto_server_port

        key = (region, service, moto_server_port())
        with lock:
            if key not in clients:
                clients[key] = original(region, service)
            return clients[key]

    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("moto.stepfunctions") and (
            getattr(module, "boto_client_for", None) is original
        ):
            patch(module, "boto_client_for", cached_client)

    modules = tuple(moto.backends.list_of_moto_modules())
    patch(moto.backends, "list_of_moto_modules", lambda: modules)
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        for target, name, value in reversed(saved):
            setattr(target, name, value)
