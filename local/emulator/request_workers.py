"""The emulator's HTTP server with reused request threads: werkzeug's threaded server starts a new thread for every
connection, and its server closes every connection after one request, so a rollout starts one thread per AWS call.
On these machines a thread start costs more CPU than a small request (a GIL hand-off each way while the engine's
and the handlers' threads compete). ``PooledWSGIServer`` serves each connection on an idle worker thread, or a new
one when none is idle (never a queue: a handler's own calls nest inside the Lambda invoke that runs it, so a bounded
pool could deadlock). Each connection runs in a fresh ``contextvars.Context``, as it would in a new thread, and the
workers are daemon threads, as werkzeug's are.

    server = PooledWSGIServer(host, port, app, handler=MotoRequestHandler)
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable
from typing import Any

from werkzeug.serving import BaseWSGIServer

_Job = tuple[Callable[..., None], tuple[Any, ...]]


class Workers:
    """Daemon threads that run one job after another; a job waits for no other (a new thread when none is idle)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0
        self._stopped = False
        self.started = 0  # threads started so far

    def submit(self, job: Callable[..., None], *args: Any) -> None:
        with self._lock:
            if self._stopped:
                raise RuntimeError(f"{self._name} workers are stopped")
            reuse = self._idle > 0
            if reuse:
                self._idle -= 1
            else:
                self.started += 1
        if reuse:
            self._jobs.put((job, args))
        else:
            threading.Thread(
                target=self._work, args=((job, args),), name=f"{self._name}-{self.started}", daemon=True
            ).start()

    def stop(self) -> None:
        """Let every worker end once its current job is done."""
        with self._lock:
            self._stopped, idle, self._idle = True, self._idle, 0
        for _ in range(idle):
            self._jobs.put(None)

    def _work(self, first: _Job) -> None:
        next_job: _Job | None = first
        while next_job is not None:
            job, args = next_job
            contextvars.Context().run(job, *args)  # no context variable survives from one job to the next
            with self._lock:
                if self._stopped:
                    return
                self._idle += 1
            next_job = self._jobs.get()


class PooledWSGIServer(BaseWSGIServer):
    """werkzeug's threaded WSGI server (HTTP/1.1, one connection per request), its connections served by ``Workers``."""

    multithread = True  # as werkzeug's ThreadedWSGIServer (it also makes the handler speak HTTP/1.1)

    def __init__(self, host: str, port: int, app: Any, handler: Any = None) -> None:
        super().__init__(host, port, app, handler=handler)
        self.workers = Workers("emulator-request")

    def process_request(self, request: Any, client_address: Any) -> None:
        self.workers.submit(self._serve, request, client_address)

    def _serve(self, request: Any, client_address: Any) -> None:
        """socketserver.ThreadingMixIn.process_request_thread."""
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        self.workers.stop()
