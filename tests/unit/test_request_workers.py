"""The emulator's request workers: threads reused, never a queue behind a busy one, no context carried over."""

from __future__ import annotations

import contextvars
import threading
import urllib.request

from local.emulator.request_workers import PooledWSGIServer, Workers

_seen: contextvars.ContextVar[str] = contextvars.ContextVar("seen", default="fresh")


def test_an_idle_worker_is_reused_and_sees_a_fresh_context() -> None:
    workers = Workers("probe")
    done = threading.Event()
    found: list[tuple[str, str]] = []

    def job(mark: str) -> None:
        found.append((threading.current_thread().name, _seen.get()))
        _seen.set(mark)
        done.set()

    for mark in ("first", "second"):
        done.clear()
        workers.submit(job, mark)
        assert done.wait(5)
        for _ in range(100):  # the worker counts itself idle right after the job
            if workers._idle:
                break
            threading.Event().wait(0.01)
    workers.stop()
    assert workers.started == 1
    assert found[0][0] == found[1][0]
    assert [context for _, context in found] == ["fresh", "fresh"]


def test_a_job_submitted_while_another_blocks_runs_at_once() -> None:
    """A Lambda invoke holds its worker while the handler's own calls need others: they must not wait for it."""
    workers = Workers("probe")
    release, inner_ran = threading.Event(), threading.Event()

    def outer() -> None:
        workers.submit(inner_ran.set)
        assert inner_ran.wait(5)
        release.set()

    workers.submit(outer)
    assert release.wait(5)
    workers.stop()
    assert workers.started == 2


def test_the_server_answers_on_reused_threads_and_stops_its_workers() -> None:
    threads: list[str] = []

    def app(environ: dict[str, object], start_response: object) -> list[bytes]:
        threads.append(threading.current_thread().name)
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])  # type: ignore[operator]
        return [b"ok"]

    server = PooledWSGIServer("127.0.0.1", 0, app)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/"
        for _ in range(5):
            with urllib.request.urlopen(url, timeout=5) as response:
                assert response.read() == b"ok"
    finally:
        server.shutdown()
        server.server_close()
    assert len(threads) == 5
    assert server.workers.started < 5
    for _ in range(200):  # stopped: the idle workers end
        if not any(t.name.startswith("emulator-request") for t in threading.enumerate()):
            break
        threading.Event().wait(0.01)
    assert not any(t.name.startswith("emulator-request") for t in threading.enumerate())
