"""benchmarks.org_model's arithmetic: the StackSets concurrency model, the throughput bounds of a pullthrough rollout,
the cost, and the REPORT.md section it writes between its markers."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from benchmarks import org_model as om


def test_stacksets_strict_tolerance_zero_deploys_one_account_at_a_time_per_region() -> None:
    # min(MaxConcurrentCount, FailureToleranceCount + 1) = 1: 1,000 accounts one after another, 17 regions in a row.
    assert om.stacksets(30.0) == 1000 * 30.0 * 17
    assert om.stacksets(30.0, parallel_regions=True) == 1000 * 30.0


def test_stacksets_concurrency_is_the_lower_of_max_concurrent_and_tolerance_plus_one() -> None:
    assert om.stacksets(10.0, failure_tolerance=9, max_concurrent=5, parallel_regions=True) == 200 * 10.0
    assert om.stacksets(10.0, failure_tolerance=4, max_concurrent=50, parallel_regions=True) == 200 * 10.0
    assert om.stacksets(10.0, accounts=7, failure_tolerance=2, parallel_regions=True) == 3 * 10.0  # ceil(7 / 3)


def test_transitions_and_invocations_per_target_share_the_account_and_rollout_states() -> None:
    assert om.transitions_per_target() == pytest.approx(9 + 3 / 17 + 8 / 17_000)
    assert om.invocations_per_target() == pytest.approx(5 + 1 / 17_000)


def test_the_slowest_shared_resource_binds_and_one_chain_fills_the_pipeline() -> None:
    outcome = om.pullthrough(om.Pullthrough("defaults"))
    transitions = 17_000 * om.transitions_per_target()
    by_name = {bound.name.split(" (")[0]: bound.seconds for bound in outcome.bounds}
    assert by_name["state transitions"] == pytest.approx((transitions - 5_000) / 1_500)
    assert by_name["Lambda concurrency"] == pytest.approx(17_000 * om.LAMBDA_SECONDS_PER_TARGET / 1_000)
    assert by_name["chain x concurrency"] == pytest.approx(17_000 * (1.81 + 0.072) / (20 * 17))
    assert outcome.binding.name.startswith("state transitions")
    assert outcome.seconds == pytest.approx(by_name["state transitions"] + 1.81 + 0.072)


def test_lambda_concurrency_binds_when_it_is_the_scarcest() -> None:
    scenario = om.Pullthrough("small quota", lambda_concurrency=50, transition_refill=10**9)
    outcome = om.pullthrough(scenario)
    assert outcome.binding.name.startswith("Lambda concurrency")
    assert outcome.binding.seconds == pytest.approx(17_000 * om.LAMBDA_SECONDS_PER_TARGET / 50)


def test_an_account_s_regions_and_the_distributed_map_cap_the_targets_in_flight() -> None:
    outcome = om.pullthrough(om.Pullthrough("wide", account_concurrency=100_000), accounts=2, regions=50)
    chain = next(bound for bound in outcome.bounds if bound.name.startswith("chain"))
    assert "80 targets in flight" in chain.name  # 2 accounts x the inline Map's 40 regions at once


def test_the_serial_case_costs_every_target_in_a_row() -> None:
    outcome = om.pullthrough(om.Pullthrough("serial", serial_seconds_per_target=0.188))
    assert outcome.binding.seconds == pytest.approx(17_000 * 0.188)


def test_break_even_instance_time_is_where_the_ratio_is_exactly_the_target() -> None:
    for parallel in (False, True):
        seconds = om.break_even_instance_seconds(120.0, parallel_regions=parallel)
        assert om.stacksets(seconds, parallel_regions=parallel) / 120.0 == pytest.approx(om.TARGET_SPEEDUP)


def test_cost_prices_transitions_requests_and_gb_seconds() -> None:
    priced = om.cost()
    assert priced.transitions == pytest.approx(17_000 * om.transitions_per_target())
    assert priced.step_functions == pytest.approx(priced.transitions * 0.025 / 1000)
    assert priced.lambda_requests == pytest.approx(priced.invocations * 0.20 / 1e6)
    assert priced.gb_seconds == pytest.approx(17_000 * om.LAMBDA_SECONDS_PER_TARGET * 0.25)
    assert priced.total == pytest.approx(priced.step_functions + priced.lambda_requests + priced.lambda_compute)
    assert math.isclose(priced.total, 4.02, abs_tol=0.01)  # the inputs as documented in the module


def test_the_section_cites_every_quota_and_price_and_judges_the_target() -> None:
    text = "\n".join(om.section())
    for name in dir(om):
        if name.endswith("_URL"):
            assert getattr(om, name) in text, name
    assert "**Target: 10x faster than StackSets at equal failure tolerance (0).** SEQUENTIAL: met" in text
    assert "**assumption**" in text  # the stack instance time is not measured


def test_the_section_goes_between_its_markers_and_is_replaced_in_place(tmp_path: Path) -> None:
    report = tmp_path / "REPORT.md"
    report.write_text("# pullthrough benchmarks\n\n## 5. Drift sweep\n\nkept\n\n## How it was measured\n\n- how\n")
    om.write_section(report)
    first = report.read_text()
    assert first.index("## 5. Drift sweep") < first.index(om.BEGIN) < first.index(om.END)
    assert first.index(om.END) < first.index("## How it was measured")
    om.write_section(report, [om.BEGIN, "## 7. replaced", om.END])
    second = report.read_text()
    assert second.count(om.BEGIN) == 1 and "## 7. replaced" in second and "kept" in second
    assert second.endswith("## How it was measured\n\n- how\n")
