"""``make demo``: its rollout succeeds, every line fits 120 columns, and the next commands it suggests work."""

from __future__ import annotations

import shlex

import pytest
from click.testing import CliRunner

from local import demo
from local.stack import EmbeddedStack
from pullthrough_cli.main import cli
from tests.support import ROOT

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _no_metric_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """The functions run in this process: their metric lines (EMF on stdout) would mix with the output read here."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")


CLI = ".venv/bin/pullthrough"


def test_the_demo_fits_120_columns_and_its_suggested_cli_commands_work(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert demo.run(stack) == 0
    printed = capsys.readouterr().out
    assert max(len(line) for line in printed.splitlines()) <= 120, printed
    # A real client pulls through the home region's cache (skopeo; .ci/run installs it)
    assert "pulled docker-hub/library/alpine:3.20 through the cache (skopeo, 127.0.0.1:" in printed
    # The second part: the OU workloads' accounts (three in the local organization) x 2 regions, six target lines
    assert (
        "SUCCEEDED in" in printed and ": 3 accounts x 2 regions, each through its PullthroughExecutionRole" in printed
    )
    assert sum(1 for line in printed.splitlines() if line[:12].isdigit() and "SUCCEEDED" in line) == 6
    lines = printed.rstrip().splitlines()
    next_steps = lines[lines.index("Next:") :]
    assert any("make local" in line for line in next_steps) and any("README.md" in line for line in next_steps)

    # Every pullthrough command it suggests runs, in order, against a stack like make local's.
    commands = [
        shlex.split(part.split("   ")[0])  # the command without the explanation after it
        for line in next_steps
        for part in line.split(CLI)[1:]
    ]
    assert [command[0] for command in commands] == ["plan", "apply", "rules", "delete"]
    monkeypatch.chdir(ROOT)  # the commands name files under events/
    for command in commands:
        polls = ["--interval", "0.2"] if command[0] in ("plan", "apply", "delete") else []
        result = CliRunner().invoke(cli, ["--api-url", stack.api_url, *command, *polls])
        assert result.exit_code == 0, (command, result.output)
