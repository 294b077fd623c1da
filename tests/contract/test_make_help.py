"""``make help`` names the targets a new user starts with and every variable the Makefile reads from them."""

from __future__ import annotations

import subprocess

from tests.support import ROOT


def test_make_help_lists_the_targets_and_the_variables() -> None:
    shown = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    targets = ("make demo", "make local", "make setup", "make check", "make test", "make sweep", "make build")
    for target in (*targets, "make bench-accounts", "make bench"):
        assert target in shown
    variables = ("PULLTHROUGH_API_PORT", "PULLTHROUGH_AWS_PORT", "SWEEP_ARGS", "BENCH_ARGS", "BENCH_ACCOUNTS_ARGS")
    for variable in (*variables, "PYTHON313", "PYTEST_WORKERS", "PYTEST_ARGS"):
        assert f"{variable}=" in shown, variable
