"""``make local`` stops on SIGTERM and Ctrl-C whenever they come (during start-up, idle, during a rollout, and as a
burst from an impatient supervisor), and leaves its ports free.

Each case runs ``python -m local.serve`` as a subprocess on free ports. The bound on how long it may take to stop
detects a hang (the process never exiting), not speed.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support import ROOT

pytestmark = pytest.mark.e2e

HANG = 60.0  # seconds: far beyond a normal stop, reached only when the process hangs
READY = "Ctrl-C to stop."
RULE = {"upstreamRegistry": "quay", "ecrRepositoryPrefix": "signals", "regions": ["us-east-1", "eu-west-1"]}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Free as the servers bind (SO_REUSEADDR): a port in TIME_WAIT is free, one with a listener is not."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class Served:
    """``python -m local.serve`` on its own ports; ``ready`` is set once the banner says it is up."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.api_port, self.aws_port, self.registry_port = free_port(), free_port(), free_port()
        env = os.environ | {
            "PULLTHROUGH_API_PORT": str(self.api_port),
            "PULLTHROUGH_AWS_PORT": str(self.aws_port),
            "PULLTHROUGH_REGISTRY_PORT": str(self.registry_port),  # never the default: tests run side by side
            "PYTHONUNBUFFERED": "1",
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
        self.log = tmp_path / "serve.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local.serve", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=self.log.open("w"),
            text=True,
        )
        self.ready = threading.Event()
        self.lines: list[str] = []  # what it printed, line by line
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if READY in line:
                self.ready.set()

    def wait_ready(self) -> None:
        assert self.ready.wait(180), self.log.read_text()[-3000:]

    def signal(self, signum: int, times: int = 1) -> None:
        for _ in range(times):
            if self.process.poll() is None:
                self.process.send_signal(signum)

    def stopped(self) -> int:
        """The exit code; fails (after killing it) when the process has not exited within HANG seconds."""
        try:
            return self.process.wait(HANG)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"local.serve still running {HANG:.0f} s after the signal:\n{self.log.read_text()[-3000:]}")

    def ports_free(self) -> bool:
        return all(port_is_free(port) for port in (self.api_port, self.aws_port, self.registry_port))


@pytest.fixture
def served(tmp_path: Path) -> Served:
    return Served(tmp_path)


@pytest.mark.parametrize("after", [1.0, 3.0, 6.0])
def test_sigterm_during_start_up_stops_it(served: Served, after: float) -> None:
    time.sleep(after)  # importing, then reading and provisioning the template
    served.signal(signal.SIGTERM, times=3)
    # 0 once its handler is installed; -SIGTERM (the default action) when the signal came before that.
    assert served.stopped() in (0, -signal.SIGTERM)
    assert served.ports_free()


@pytest.mark.parametrize(("signum", "burst"), [(signal.SIGTERM, 1), (signal.SIGINT, 1), (signal.SIGTERM, 50)])
def test_a_signal_when_idle_stops_it_and_frees_the_ports(served: Served, signum: int, burst: int) -> None:
    served.wait_ready()
    served.signal(signum, times=burst)
    assert served.stopped() == 0
    assert "stopping" in served.log.read_text()
    assert served.ports_free()


def test_sigterm_during_a_rollout_stops_it(served: Served) -> None:
    served.wait_ready()
    request = urllib.request.Request(
        f"http://127.0.0.1:{served.api_port}/rules",
        data=json.dumps(RULE).encode(),
        method="POST",
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 202
    served.signal(signal.SIGTERM, times=10)
    assert served.stopped() == 0
    assert served.ports_free()
