"""What ``make local`` prints: one readable line per step and per event; the functions' JSON logs in a file whose
path it prints, or on the terminal too with ``--verbose``."""

from __future__ import annotations

import json
import re
import signal
import time
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.test_serve_signals import RULE, Served

pytestmark = pytest.mark.e2e

WAIT = 180.0  # seconds: a hang detector for the rollout's Finished line


def post_rule(served: Served) -> str:
    request = urllib.request.Request(
        f"http://127.0.0.1:{served.api_port}/rules",
        data=json.dumps(RULE).encode(),
        method="POST",
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return str(json.loads(answer.read())["rolloutId"])


def finished(served: Served, rollout_id: str) -> None:
    deadline = time.monotonic() + WAIT
    while not any("Rollout Finished" in line and rollout_id in line for line in served.lines):
        assert time.monotonic() < deadline, "\n".join(served.lines[-40:])
        time.sleep(0.2)


def test_by_default_each_step_and_event_is_one_readable_line_and_the_json_logs_go_to_a_file(tmp_path: Path) -> None:
    served = Served(tmp_path)
    try:
        served.wait_ready()
        rollout_id = post_rule(served)
        finished(served, rollout_id)
    finally:
        served.signal(signal.SIGTERM)
        served.stopped()
    after_banner = served.lines[next(i for i, line in enumerate(served.lines) if "Ctrl-C to stop." in line) + 1 :]
    printed = [line for line in after_banner if line.strip()]
    assert printed and all(line.startswith(("step ", "event ")) for line in printed), printed
    steps = [line for line in printed if line.startswith("step ") and rollout_id in line]
    assert any(re.match(rf"step +StoreSecret +eu-west-1 +{rollout_id} +ok +\d+ ms", line) for line in steps), steps
    [path] = [line.split(": ", 1)[1] for line in served.lines if "JSON logs and metrics:" in line]
    logged = [json.loads(line) for line in Path(path).read_text().splitlines() if line.startswith("{")]
    assert any(entry.get("rolloutId") == rollout_id and "function_name" in entry for entry in logged)


def test_verbose_prints_the_json_logs_too(tmp_path: Path) -> None:
    served = Served(tmp_path, "--verbose")
    try:
        served.wait_ready()
        rollout_id = post_rule(served)
        finished(served, rollout_id)
    finally:
        served.signal(signal.SIGTERM)
        served.stopped()
    assert any(line.startswith("{") and rollout_id in line for line in served.lines)
    assert any(line.startswith("step ") for line in served.lines)
