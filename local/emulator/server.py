"""The emulator's HTTP server: moto's server on loopback, with a latency knob and a log of the operations it received.

moto's state is process-wide: whatever the server answers, the in-process backends hold.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

LATENCY_ENV = "PULLTHROUGH_EMULATOR_LATENCY_MS"
_CONTROL_PATHS = ("/moto-api", "/_pullthrough")

#: A per-request latency in milliseconds from the request's (region, service), e.g. a benchmark's latency model.
LatencyModel = Callable[[str, str], float]
_SIGNED_SCOPE = re.compile(r"Credential=[^/]*/\d{8}/([^/]+)/([^/]+)/aws4_request")


class EmulatorLatency:
    """WSGI middleware: wait before each AWS call. With a ``model`` set, the model's milliseconds for the request's
    region and service (read from its SigV4 credential scope; empty strings when unsigned); otherwise
    PULLTHROUGH_EMULATOR_LATENCY_MS (read per request, default 0). Control paths never wait."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self._app = app
        self.model: LatencyModel | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if not str(environ.get("PATH_INFO", "")).startswith(_CONTROL_PATHS):
            delay = self._delay_ms(environ)
            if delay > 0:
                time.sleep(delay / 1000)
        return self._app(environ, start_response)

    def _delay_ms(self, environ: dict[str, Any]) -> float:
        model = self.model
        if model is not None:
            scope = _SIGNED_SCOPE.search(str(environ.get("HTTP_AUTHORIZATION", "")))
            return model(*(scope.groups() if scope else ("", "")))
        raw = os.environ.get(LATENCY_ENV)
        if raw:
            with contextlib.suppress(ValueError):
                return float(raw)
        return 0.0


class RequestLog:
    """WSGI middleware: the JSON-protocol operations (``X-Amz-Target``: ECR, Secrets Manager, DynamoDB, Step
    Functions, EventBridge) the emulator received, in order. What reached the server, whoever sent it."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self._app = app
        self._lock = threading.Lock()
        self.operations: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target:
            with self._lock:
                self.operations.append(str(target))
        return self._app(environ, start_response)

    def since(self, mark: int) -> list[str]:
        """Operations received after ``mark`` (a length of ``operations`` taken earlier)."""
        with self._lock:
            return self.operations[mark:]


class EmulatorServer(ThreadedMotoServer):
    """moto's ThreadedMotoServer that reports a failed bind (instead of hanging) and applies the latency knob."""

    def __init__(self, ip_address: str, port: int) -> None:
        super().__init__(ip_address=ip_address, port=port, verbose=False)
        self.error: BaseException | None = None
        self.requests: RequestLog | None = None
        self.latency: EmulatorLatency | None = None

    def _server_entry(self) -> None:
        try:
            app = DomainDispatcherApplication(create_backend_app)
            self.latency = EmulatorLatency(app)
            self.requests = RequestLog(self.latency)
            self._server = make_server(
                self._ip_address, self._port, self.requests, True, request_handler=MotoRequestHandler
            )
        except BaseException as error:
            self.error = error
            self._server_ready_event.set()
            return
        self._server_ready_event.set()
        self._server.serve_forever()

    def start(self) -> None:
        super().start()
        if self.error is not None:
            assert self._thread is not None
            self._thread.join()
            raise self.error
