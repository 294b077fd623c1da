"""The benchmark harness, run small (``--quick``) so it never rots: it must produce REPORT.md and every plot, and
the numbers it reports must be sane. Timing targets are not judged here (a loaded CI machine says nothing); the
invariants are: an unchanged repeat writes nothing, rollouts end as they should, the sweep reads a constant amount.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks import plots

ROOT = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], str]:
    """One ``python -m benchmarks.run --quick`` into a temporary directory (its own process: one stack each)."""
    out = tmp_path_factory.mktemp("bench")
    numbers = out / "numbers.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--out", str(out), "--json", str(numbers)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    return out, json.loads(numbers.read_text()), done.stdout


def test_the_report_and_every_plot_are_written(quick_run: tuple[Path, dict[str, Any], str]) -> None:
    out, _, _ = quick_run
    report = (out / "REPORT.md").read_text()
    for heading in (
        "## Machine, versions, settings",
        "## Targets",
        "## 1.",
        "## 2.",
        "## 3.",
        "## 4.",
        "## 5.",
        "## 7. Organization scale",
    ):
        assert heading in report
    for name in plots.ALL:
        data = (out / name).read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 5000, name
        assert f"]({name})" in report, f"{name} is not linked from the report"
    for needle in (
        "Python",
        "boto3",
        "moto",
        "pydantic",
        "aws-lambda-powertools",
        "latency per AWS API call",
        "latency model",
    ):
        assert needle in report


def test_every_target_has_a_verdict(quick_run: tuple[Path, dict[str, Any], str]) -> None:
    out, numbers, _ = quick_run
    report = (out / "REPORT.md").read_text()
    targets = report.split("## Targets", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in targets.splitlines() if line.startswith("| ") and not line.startswith("| target")]
    assert len(rows) == len(numbers["targets_met"]) == 10  # issue 13: the sweep time; issue 20: the AWS guide loop
    assert all(re.search(r"\| (met|\*\*not met\*\*) \|$", row) for row in rows), rows


def test_the_numbers_are_sane(quick_run: tuple[Path, dict[str, Any], str]) -> None:
    _, numbers, _ = quick_run
    assert numbers["unchanged_writes"] == 0
    assert numbers["outcomes"] == {
        "fresh": "SUCCEEDED",
        "unchanged": "SUCCEEDED",
        "credential change": "SUCCEEDED",
        "rollback": "ROLLED_BACK",
    }
    for region, counted in numbers["calls_per_region"]["unchanged"].items():
        assert counted["writes"] == 0 and counted["calls"] > 0, region
    for region, counted in numbers["calls_per_region"]["fresh"].items():
        assert counted["writes"] == 3, region  # secret, rule, template
    assert all(seconds > 0 for samples in numbers["wall_seconds"].values() for seconds in samples)
    assert all(seconds > 0 for samples in numbers["sequential_seconds"].values() for seconds in samples)
    assert numbers["wall_scaling"] > 0 and numbers["sequential_speedup"] > 0
    assert numbers["over_limit"] > 0 and numbers["one_region_over_cli"] > 0
    for samples in numbers["model_seconds"].values():  # under the latency model: ours, CLI loop, physical limit
        assert all(seconds > 0 for kind in ("ours", "sequential", "guide", "limit") for seconds in samples[kind])
    assert numbers["guide_speedup"] > 0 and numbers["one_region_over_guide"] > 0
    assert all(0 < transitions < 50 for transitions in numbers["transitions_per_region"].values())
    assert all(ratio > 0 for ratio in numbers["cold_start_ratio"].values())
    assert all(10 < mb < 1024 for mb in numbers["peak_rss_mb"].values())
    sweep = numbers["sweep_calls_per_region"]
    assert set(sweep) == {"1", "10", "50"} and len(set(sweep.values())) == 1
    assert set(numbers["sweep_seconds"]) == set(sweep) and all(s > 0 for s in numbers["sweep_seconds"].values())


def test_the_metrics_codes_cost_is_reported_and_no_region_step_loads_it(
    quick_run: tuple[Path, dict[str, Any], str],
) -> None:
    out, numbers, _ = quick_run
    report = (out / "REPORT.md").read_text()

    assert 0 < numbers["metrics_import_ms"] < 1000 and 0 < numbers["metrics_first_lines_ms"] < 1000
    assert numbers["imports_metrics"] and not any(numbers["imports_metrics"].values())  # --quick: region steps only
    assert "**The metrics code**" in report
