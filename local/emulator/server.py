"""The AWS emulator: moto's server on loopback with our extensions of it, a latency knob and a request log.

    emulator = Emulator(port=0)      # 0: any free port
    emulator.start()                 # ECR pull-through, Secrets Manager fixes, STS trust installed; moto reset
    boto3.client("ecr", endpoint_url=emulator.endpoint_url, ...)
    emulator.stop()                  # the process's environment and logging levels given back

It knows nothing of our app: ``local.stack`` runs the app on it. moto's state and ``os.environ`` are process-wide:
one emulator at a time.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from local.emulator import (
    ecr_extension,
    engine_tuning,
    organization_events,
    region_opt,
    secret_events,
    secretsmanager_fixes,
    sts_trust,
)
from local.settings import ACCESS_KEY, AWS_PORT_ENV, HOME_REGION, HOST, StackError

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


class Emulator:
    """moto's server on ``HOST``:``port`` with ECR pull-through, the Secrets Manager fixes and STS trust installed, and
    the process environment pointed at it (AWS_ENDPOINT_URL, the home account's credentials). Start, then stop."""

    def __init__(self, port: int, *, verbose: bool = False) -> None:
        self.aws_port = port
        self.verbose = verbose
        self._server: EmulatorServer | None = None
        self._saved_env: dict[str, str | None] = {}
        self._saved_sfn_config: dict[str, Any] | None = None
        self._saved_levels: dict[str, int] = {}

    @property
    def endpoint_url(self) -> str:
        return f"http://{HOST}:{self.aws_port}"

    @property
    def requests(self) -> RequestLog:
        """Every JSON-protocol operation the emulator has received (for tests that count writes)."""
        assert self._server is not None and self._server.requests is not None, "the stack is not running"
        return self._server.requests

    def set_latency_model(self, model: LatencyModel | None) -> None:
        """Price each AWS request by ``model(region, service)`` milliseconds (None: back to the flat knob)."""
        assert self._server is not None and self._server.latency is not None, "the stack is not running"
        self._server.latency.model = model

    def set_env(self, values: dict[str, str | None]) -> None:
        """Set (None: remove) process environment variables until ``stop()``, which gives their old values back."""
        for key, value in values.items():
            if key not in self._saved_env:
                self._saved_env[key] = os.environ.get(key)
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def start(self) -> None:
        if not self.verbose:
            # One line per request, and moto's dumps of every ASL evaluation error (the history has them too).
            for name, level in (("werkzeug", logging.WARNING), ("moto.stepfunctions.parser", logging.CRITICAL)):
                self._saved_levels[name] = logging.getLogger(name).level
                logging.getLogger(name).setLevel(level)
        # Installed before the server handles its first request (moto builds a service's routes on first use).
        ecr_extension.install()
        region_opt.install()
        secret_events.install()  # CloudTrail's secret events on the default buses
        organization_events.install()  # and Organizations' (MoveAccount, CreateAccountResult)
        sts_trust.install()
        secretsmanager_fixes.install()
        engine_tuning.install()
        server = EmulatorServer(HOST, self.aws_port)
        try:
            server.start()
        except OSError as error:
            raise StackError(
                f"cannot listen on {HOST}:{self.aws_port} ({error.strerror}): set {AWS_PORT_ENV} to a free port"
            ) from None
        self._server = server
        self.aws_port = server.get_host_and_port()[1]
        stray = [key for key in os.environ if key.startswith("AWS_ENDPOINT_URL_")]
        self.set_env(
            {
                "AWS_ACCESS_KEY_ID": ACCESS_KEY,
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": None,
                "AWS_PROFILE": None,
                "AWS_DEFAULT_REGION": HOME_REGION,
                "AWS_REGION": HOME_REGION,
                "MOTO_PORT": str(self.aws_port),
                "AWS_ENDPOINT_URL": self.endpoint_url,
                **dict.fromkeys(stray),
            }
        )
        from moto.core.config import default_user_config

        self._saved_sfn_config = dict(default_user_config.get("stepfunctions", {}))
        self.moto_api("reset")  # moto's state is process-wide: start from a clean slate
        self.moto_api("config", {"stepfunctions": {"execute_state_machine": True}})

    def stop(self) -> None:
        """Reset moto, stop the server, give the process its environment and logging levels back (safe twice)."""
        if self._server is not None:
            with contextlib.suppress(Exception):
                self.moto_api("reset")
            if self._saved_sfn_config is not None:
                with contextlib.suppress(Exception):
                    self.moto_api("config", {"stepfunctions": self._saved_sfn_config})
            self._server.stop()
            self._server = None
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()
        for name, level in self._saved_levels.items():
            logging.getLogger(name).setLevel(level)
        self._saved_levels.clear()
        engine_tuning.uninstall()

    def moto_api(self, action: str, body: dict[str, Any] | None = None) -> None:
        request = urllib.request.Request(  # noqa: S310 - loopback URL built here
            f"{self.endpoint_url}/moto-api/{action}", data=json.dumps(body or {}).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            response.read()
