"""skopeo pulls through ``make local``: the command a user runs, in a process of its own, on free ports."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import boto3
import pytest

from local.emulator.registry import oci
from tests.e2e.conftest import ROLLOUT_TIMEOUT, call_api, wait_until
from tests.registry_support import inspect, password
from tests.support import ROOT

pytestmark = pytest.mark.e2e
START_TIMEOUT = 180.0


def _free_ports(count: int) -> list[int]:
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()


@pytest.fixture(scope="module")
def make_local() -> Iterator[dict[str, int]]:
    """``make local`` running until the module ends (its process group stopped with SIGTERM); its ports."""
    aws, api, registry = _free_ports(3)
    ports = {"aws": aws, "api": api, "registry": registry}
    env = {
        **os.environ,
        "PULLTHROUGH_AWS_PORT": str(aws),
        "PULLTHROUGH_API_PORT": str(api),
        "PULLTHROUGH_REGISTRY_PORT": str(registry),
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        ["make", "--no-print-directory", "local"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in process.stdout or []:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while not any("Ctrl-C to stop." in line for line in seen):
            assert process.poll() is None, "make local exited:\n" + "".join(seen)
            assert time.monotonic() < deadline, "make local did not come up:\n" + "".join(seen)
            try:
                seen.append(lines.get(timeout=1))
            except queue.Empty:
                continue
        assert f"registry  http://127.0.0.1:{registry}" in "".join(seen)
        yield ports
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def test_skopeo_pulls_the_sample_rules_image_through_make_local(make_local: dict[str, int]) -> None:
    api = f"http://127.0.0.1:{make_local['api']}"
    body = json.loads((ROOT / "events" / "rule_request_docker_hub.json").read_text())
    body["regions"] = ["us-east-1"]
    status, started = call_api(api, "POST", "/rules", body)
    assert status == 202, started

    def ended() -> dict[str, str] | None:
        _, view = call_api(api, "GET", f"/rollouts/{started['rolloutId']}")
        return dict(view) if view["status"] != "RUNNING" else None

    assert wait_until(ended, ROLLOUT_TIMEOUT, "the sample rollout")["status"] == "SUCCEEDED"
    ecr = boto3.client(
        "ecr",
        region_name="us-east-1",
        endpoint_url=f"http://127.0.0.1:{make_local['aws']}",
        aws_access_key_id="any",
        aws_secret_access_key="any",
    )

    pulled = inspect(f"127.0.0.1:{make_local['registry']}", "docker-hub/library/alpine:3.20", password(ecr))

    assert pulled.ok, pulled.stderr
    assert pulled.json()["Digest"] == oci.generate("docker-hub library/alpine:3.20 #0").index.digest
    assert pulled.json()["Labels"] == {"org.opencontainers.image.title": "docker-hub library/alpine:3.20 #0"}
