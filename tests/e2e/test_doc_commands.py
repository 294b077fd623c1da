"""Every runnable command in the README and docs/ works as written against `make local`.

`python -m local.serve` (what `make local` runs) is started on free ports; each ```bash runnable``` block of
README.md and docs/*.md is run with bash (-e, -u, pipefail) from the repository root, its documented ports replaced
by the stack's (tests/doc_blocks.py), in the order the documents give them, with PULLTHROUGH_API_URL set as the
README's tour sets it. A block that exits non-zero fails the test, naming the file and line.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest

from tests.doc_blocks import ROOT, Block, documents, runnable_blocks, with_ports

pytestmark = pytest.mark.e2e
READY_TIMEOUT = 180.0
BLOCK_TIMEOUT = 240.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(autouse=True)
def _fake_aws_env() -> None:
    """Overrides the suite-wide fixture: the served stack has its own process."""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, int]]:
    """`make local` on free ports, until the module ends; its ports by name."""
    ports = {"api": _free_port(), "aws": _free_port(), "registry": _free_port()}
    env = os.environ | {
        "PULLTHROUGH_API_PORT": str(ports["api"]),
        "PULLTHROUGH_AWS_PORT": str(ports["aws"]),
        "PULLTHROUGH_REGISTRY_PORT": str(ports["registry"]),
    }
    log = open(tmp_path_factory.mktemp("serve") / "make-local.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "local.serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{ports['api']}/rules", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"make local did not come up: see {log.name}")
            time.sleep(0.5)
        yield ports
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _run(block: Block, ports: dict[str, int]) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "PULLTHROUGH_API_URL": f"http://127.0.0.1:{ports['api']}",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    env.pop("AWS_PROFILE", None)
    script = "set -euo pipefail\n" + with_ports(block.script, ports)
    return subprocess.run(
        ["bash", "-c", script],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT,
        check=False,
    )


def test_the_readme_has_runnable_blocks_and_the_tools_they_use_are_here() -> None:
    assert runnable_blocks(ROOT / "README.md"), "the README's tour must be marked ```bash runnable```"
    for tool in ("curl", "jq", "aws"):
        assert shutil.which(tool), f"{tool} is used by runnable doc blocks: .ci/run installs it"


@pytest.mark.parametrize("document", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_runnable_block_of_the_document_succeeds(document: os.PathLike[str], served: dict[str, int]) -> None:
    for block in runnable_blocks(ROOT / document):
        done = _run(block, served)
        assert done.returncode == 0, (
            f"{block.where} exited {done.returncode}\n--- stdout\n{done.stdout[-3000:]}\n--- stderr\n"
            f"{done.stderr[-3000:]}"
        )
