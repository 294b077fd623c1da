"""What ``make local`` prints: one readable line per step (each in-process function invocation) and per event
(``local.bus_log``); the functions' JSON logs and metric lines go to a file instead (``--verbose``: to the
terminal as well, as Lambda would send them to CloudWatch)."""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

from local import bus_log, lambda_runner

_WHERE = ("account", "region")


def step_line(done: lambda_runner.Invocation) -> str:
    """``step   StoreSecret        us-east-1  r-…  ok  120 ms`` (or the error type); the account when not home."""
    name = done.function_name.rsplit("-", 1)[-1].removesuffix("Function")
    event: dict[str, Any] = done.event if isinstance(done.event, dict) else {}
    where = " ".join(str(event[key]) for key in _WHERE if event.get(key))
    outcome = (done.error_type or "failed") if done.errored else "ok"
    parts = [f"step   {name:<18}", where or "-", str(event.get("rolloutId") or "-"), outcome]
    parts.append(f"{(done.ended - done.started) * 1000:.0f} ms")
    return "  ".join(parts)


class RunLog:
    """Routes make local's output: readable lines to ``console``; the functions' JSON logs and metric lines (the
    process's standard output and every logging handler writing there) to ``log_file``, unless ``verbose``."""

    def __init__(self, console: TextIO, log_file: Path, *, verbose: bool = False) -> None:
        self.console = console
        self.log_file = log_file
        self.verbose = verbose
        self._file: TextIO | None = None
        self._lock = threading.Lock()  # steps end in many threads at once: one whole line at a time
        self.showing = False  # set once the banner is out: the stack's own start-up steps are not shown

    def install(self) -> None:
        lambda_runner.after_call.append(self.step)
        if self.verbose:
            return
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.log_file.open("w", buffering=1, encoding="utf-8")
        for handler in _stream_handlers(self.console):
            handler.setStream(self._file)
        sys.stdout = self._file  # metric lines (print) and the Loggers created from now on

    def uninstall(self) -> None:
        if self.step in lambda_runner.after_call:
            lambda_runner.after_call.remove(self.step)
        if self._file is not None:
            for handler in _stream_handlers(self._file):
                handler.setStream(self.console)
            sys.stdout = self.console
            self._file.close()
            self._file = None

    def step(self, done: lambda_runner.Invocation) -> None:
        """A step's line; an event's line when bus_log's own (which prints to standard output) goes to the file."""
        if done.function_name != bus_log.FUNCTION_NAME:
            self.say(step_line(done))
        elif self._file is not None and isinstance(done.event, dict):
            self.say(bus_log.line(done.event))

    def say(self, line: str) -> None:
        if not self.showing:
            return
        with self._lock:
            self.console.write(line + "\n")
            self.console.flush()


def _stream_handlers(stream: TextIO) -> list[logging.StreamHandler[Any]]:
    """Every logging handler that writes to ``stream`` (Powertools' Loggers keep their own)."""
    loggers = [logging.getLogger(), *(item for item in logging.Logger.manager.loggerDict.values())]
    return [
        handler
        for found in loggers
        if isinstance(found, logging.Logger)
        for handler in found.handlers
        if isinstance(handler, logging.StreamHandler) and handler.stream is stream
    ]
