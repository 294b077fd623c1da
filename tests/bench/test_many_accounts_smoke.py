"""The many-accounts harness (``make bench-accounts``), run small so it never rots: 3 accounts x 2 regions against
a 2-account run. It must write its REPORT.md section with a verdict for every quota, and its numbers must be sane;
the helpers it sizes and projects with are pinned on their own."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from benchmarks import many_accounts as ma

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    """One ``python -m benchmarks.many_accounts`` of 3 accounts x 2 regions into a REPORT.md that has other text."""
    out = tmp_path_factory.mktemp("bench-accounts")
    (out / "REPORT.md").write_text("# Benchmarks\n\n## 5. Drift sweep\n\nkept as it is\n")
    numbers = out / "numbers.json"
    argv = ["--accounts", "3", "--small", "2", "--regions", "2", "--out", str(out), "--json", str(numbers)]
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.many_accounts", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    return (out / "REPORT.md").read_text(), json.loads(numbers.read_text())


def test_the_section_is_written_after_the_rest_of_the_report(small_run: tuple[str, dict[str, Any]]) -> None:
    report, _ = small_run
    assert report.startswith("# Benchmarks\n\n## 5. Drift sweep\n\nkept as it is\n")
    assert "## 6. Many accounts: 3 accounts x 2 regions" in report
    table = [line for line in report.split(ma.BEGIN, 1)[1].splitlines() if line.startswith("| ")][1:]
    assert len(table) == 11
    assert all(re.search(r" % \|$|over the quota\*\* \|$", line) for line in table), table


def test_the_rollout_succeeds_and_the_histories_are_measured(small_run: tuple[str, dict[str, Any]]) -> None:
    _, numbers = small_run
    small, full = numbers["small"], numbers["full"]
    assert small["outcome"] == full["outcome"] == "SUCCEEDED"
    assert full["parent"]["status"] == full["child"]["status"] == "SUCCEEDED"
    assert full["child_regions"] == 2
    # The child works one account's regions: more events than the parent, which sees only the Map run.
    assert full["child"]["events"] > full["parent"]["events"] > 10
    assert 0 < full["child"]["largest"]["bytes"] < ma.STATE_PAYLOAD_QUOTA
    assert full["finished_event_targets"] == 6 and full["finished_event_bytes"] > 0
    assert all(item["bytes"] > 0 for item in full["items"].values())
    assert full["get_rollout_bytes"] > small["get_rollout_bytes"]  # one more account's targets


def test_an_existing_section_is_replaced_and_kept_by_make_bench(tmp_path: Path) -> None:
    report = tmp_path / "REPORT.md"
    report.write_text("# Benchmarks\n\n## 1. Wall time\n\nx\n\n## Method\n\ny\n")
    ma.write_section(report, [ma.BEGIN, "## 6. first", ma.END])
    ma.write_section(report, [ma.BEGIN, "## 6. second", ma.END])

    text = report.read_text()
    assert text.count(ma.BEGIN) == 1 and "first" not in text and "## 6. second" in text
    assert ma.kept_section(report) == [ma.BEGIN, "## 6. second", ma.END]
    assert ma.kept_section(tmp_path / "missing.md") == []


def test_dynamodb_sizes_follow_its_rules() -> None:
    assert ma.dynamodb_size("héllo") == 6  # UTF-8 bytes
    assert ma.dynamodb_size(Decimal("12345")) == 4  # (5 digits + 1) // 2 + 1
    assert ma.dynamodb_size(True) == 1 and ma.dynamodb_size(None) == 1
    assert ma.dynamodb_size({"ab": "c"}) == 3 + 1 + 2 + 1
    assert ma.dynamodb_size(["a", "bc"]) == 3 + 2 + 3
    assert ma.item_size({"pk": "ROLLOUT#r", "n": Decimal(1)}) == 2 + 9 + 1 + 2
    with pytest.raises(TypeError):
        ma.dynamodb_size(object())


def test_a_size_past_its_quota_is_called_out() -> None:
    point = ma.Point(2, 1, outcome="SUCCEEDED", wall_seconds=1.0)
    point.parent = point.child = ma.HistoryStats(10, ma.Largest(100, "x"), "SUCCEEDED", 1.0)
    point.items = {kind: ma.Largest(10, kind) for kind in ("account", "deployed", "rollout", "rule")}
    big = ma.Point(**{**point.__dict__, "accounts": 200})
    big.parent = ma.HistoryStats(10, ma.Largest(100_000, "FinishRollout"), "SUCCEEDED", 1.0)

    lines = ma.section(point, big)

    [row] = [line for line in lines if line.startswith("| parent execution: largest state")]
    assert row.endswith("over the quota** |") and "| 503,636 |" in row  # 100,000 + (100,000 - 100) * 800 / 198


def test_the_projection_is_linear_in_accounts() -> None:
    assert ma.project((2, 100), (200, 10_000), to=1000) == 50_000
    assert ma.project((2, 500), (200, 500), to=1000) == 500


def test_the_item_selector_is_applied_as_the_map_does() -> None:
    selector = {"account.$": "$$.Map.Item.Value", "limit.$": "$.rollout.maxConcurrency", "fixed": 1}
    state = {"rollout": {"maxConcurrency": 4}, "accounts": ["111111111111"]}

    assert ma.select(selector, state, "111111111111") == {"account": "111111111111", "limit": 4, "fixed": 1}
    with pytest.raises(ValueError, match="not a path"):
        ma.select({"x.$": "States.Format('{}', $.a)"}, state, None)


def test_the_child_definition_is_the_distributed_maps_item_processor() -> None:
    parent = json.loads((ROOT / "statemachine" / "rollout.asl.json").read_text())

    child = ma.child_definition(parent)

    assert child["StartAt"] == parent["States"]["RolloutAccounts"]["ItemProcessor"]["StartAt"]
    assert "ProcessorConfig" not in child
    with pytest.raises(ValueError, match="not a Distributed Map"):
        ma.child_definition(parent, "RolloutRegions")
