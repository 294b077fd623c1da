"""Which template function the current thread runs for, and the environment that function sees.

On Lambda every function has a process of its own: its environment holds the template's Globals and its own
``Environment`` and nothing of the other functions', and every AWS call it makes is made with its own role. The
embedded stack runs all functions in one process, concurrently (Map iterations are threads), so it cannot give
each one an ``os.environ`` of its own by setting variables per call. Instead:

- ``FunctionScope`` names a function and holds its resolved environment; ``entered(scope)`` makes it the current
  scope of this thread (a context variable), for the length of one invocation.
- ``install()`` replaces ``os.environ`` with ``EnvironmentView``: reads inside a scope see the scope's variables
  over the process environment; reads outside any scope see the process environment alone. Code reading
  ``os.environ`` or ``os.getenv`` (the layer, Powertools, botocore) needs no change. Writes go to the process
  environment, as before.
- ``install()`` also makes ``ThreadPoolExecutor.submit`` carry the submitter's context (its scope) into the
  worker (Lambda's threads share their process's environment and role), so calls a handler makes from a pool stay
  its own.

``uninstall()`` puts both back. Nothing here changes how the app's code behaves on Lambda.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import threading
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FunctionScope:
    """A template function as its invocations see themselves: logical id, deployed name, environment."""

    logical_id: str
    function_name: str
    environment: Mapping[str, str] = field(default_factory=dict)


_current: ContextVar[FunctionScope | None] = ContextVar("pullthrough_function_scope", default=None)


def current() -> FunctionScope | None:
    """The scope of the invocation this thread runs, None outside any."""
    return _current.get()


@contextlib.contextmanager
def entered(scope: FunctionScope | None) -> Iterator[None]:
    """Run the block as ``scope`` (None: leave the current scope as it is)."""
    if scope is None:
        yield
        return
    token = _current.set(scope)
    try:
        yield
    finally:
        _current.reset(token)


class EnvironmentView(MutableMapping[str, str]):
    """``os.environ`` as the current function sees it: its own variables over the process environment."""

    def __init__(self, process: MutableMapping[str, str]) -> None:
        self.process = process

    def _own(self) -> Mapping[str, str]:
        scope = _current.get()
        return scope.environment if scope is not None else {}

    def __getitem__(self, key: str) -> str:
        own = self._own()
        return own[key] if key in own else self.process[key]

    def __contains__(self, key: object) -> bool:
        return key in self._own() or key in self.process

    def __iter__(self) -> Iterator[str]:
        own = self._own()
        yield from own
        yield from (key for key in self.process if key not in own)

    def __len__(self) -> int:
        own = self._own()
        return len(own) + sum(1 for key in self.process if key not in own)

    def __setitem__(self, key: str, value: str) -> None:
        self.process[key] = value

    def __delitem__(self, key: str) -> None:
        del self.process[key]

    def copy(self) -> dict[str, str]:
        return dict(self)

    def __repr__(self) -> str:
        return f"EnvironmentView({dict(self)!r})"


_lock = threading.Lock()
_process_environ: MutableMapping[str, str] | None = None
_original_submit: Callable[..., Future[Any]] | None = None


def _submit(self: ThreadPoolExecutor, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
    """The worker runs in a copy of the submitter's context: its scope (and every other context variable)."""
    assert _original_submit is not None
    return _original_submit(self, contextvars.copy_context().run, fn, *args, **kwargs)


def install() -> None:
    """Give each scope its own view of ``os.environ`` and carry scopes into thread pools (idempotent)."""
    global _process_environ, _original_submit
    with _lock:
        if _process_environ is None:
            _process_environ = os.environ
            os.environ = EnvironmentView(_process_environ)  # type: ignore[assignment]  # noqa: B003 - a view of it
        if _original_submit is None:
            _original_submit = ThreadPoolExecutor.submit
            ThreadPoolExecutor.submit = _submit  # type: ignore[method-assign,assignment]


def uninstall() -> None:
    """Put ``os.environ`` and ``ThreadPoolExecutor.submit`` back."""
    global _process_environ, _original_submit
    with _lock:
        if _process_environ is not None:
            os.environ = _process_environ  # type: ignore[assignment]  # noqa: B003 - the original
            _process_environ = None
        if _original_submit is not None:
            ThreadPoolExecutor.submit = _original_submit  # type: ignore[method-assign]
            _original_submit = None
