"""Run every measurement on the embedded stack and write REPORT.md and the plots.

    python -m benchmarks.run [--quick] [--out DIR] [--latency-ms N] [--repeats N] [--only cold-start]

``--quick`` is the smoke test's mode: two regions, one repetition, no latency. The output directory's REPORT.md and
the figures are deleted first and written anew. ``--json FILE`` also writes the headline numbers as JSON.
``--only cold-start`` measures every function's cold start alone (``--repeats`` rounds, default 9) and prints the
ratios to the baseline, leaving REPORT.md as it is: a quick check while working on imports.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.settings import ROOT, Settings

LAYER = ROOT / "layers" / "common"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke-test size: 2 regions, 1 repetition, no latency")
    parser.add_argument("--out", type=Path, help="where REPORT.md and the plots go (default: benchmarks/)")
    parser.add_argument("--latency-ms", type=float, help="latency per AWS API call (default 50; quick: 0)")
    parser.add_argument("--repeats", type=int, help="repetitions of each measurement (default 5; quick: 1)")
    parser.add_argument("--json", type=Path, help="also write the headline numbers to this JSON file")
    parser.add_argument("--only", choices=["cold-start"], help="measure only this and print it (REPORT.md untouched)")
    args = parser.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.latency_ms is not None and args.latency_ms < 0:
        parser.error("--latency-ms must not be negative")
    return args


def _clear(out: Path) -> None:
    from benchmarks import plots

    out.mkdir(parents=True, exist_ok=True)
    for name in ("REPORT.md", *plots.ALL):
        (out / name).unlink(missing_ok=True)


def _number(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 4)


def headline(results: Any) -> dict[str, Any]:
    """The numbers the targets are judged on, JSON-ready."""
    wall, calls, cold, drift = results.wall, results.calls, results.cold, results.drift
    return {
        "regions": len(results.settings.all_regions),
        "latency_ms": results.settings.latency_ms,
        "wall_scaling": _number(wall.scaling),
        "over_limit": _number(wall.over_limit),
        "sequential_speedup": _number(wall.speedup),
        "one_region_over_cli": _number(wall.one_region),
        "guide_speedup": _number(wall.guide_speedup),
        "one_region_over_guide": _number(wall.guide_one_region),
        "wall_seconds": {str(r): p.ours for r, p in wall.points.items()},
        "sequential_seconds": {str(r): p.sequential for r, p in wall.points.items()},
        "model_seconds": {
            str(r): {
                "ours": p.model_ours,
                "sequential": p.model_sequential,
                "guide": p.model_guide,
                "limit": p.model_limit,
                "cpu": p.model_cpu,
            }
            for r, p in wall.points.items()
        },
        "calls_per_region": {
            name: {region: {"calls": c, "writes": w} for region, (c, w) in scenario.totals().items()}
            for name, scenario in calls.scenarios.items()
        },
        "outcomes": {name: scenario.run.outcome for name, scenario in calls.scenarios.items()},
        "unchanged_writes": calls.unchanged_writes,
        "fresh_calls_beyond_need": calls.fresh_extra,
        "transitions_per_region": {row.label: row.per_region for row in results.transitions.rows},
        "cold_start_ratio": {lid: _number(cold.ratio(lid)) for lid in cold.functions},
        "cold_start_cpu_ratio": {lid: _number(cold.cpu_ratio(lid)) for lid in cold.functions},
        "cold_start_baseline_seconds": _number(cold.baseline.total),
        "peak_rss_mb": {lid: fn.peak_mb for lid, fn in cold.functions.items()},
        "metrics_import_ms": _number(cold.metrics.import_ms),
        "metrics_first_lines_ms": _number(cold.metrics.first_ms),
        "imports_metrics": {lid: fn.imports_metrics for lid, fn in cold.functions.items()},
        "sweep_calls_per_region": {str(p.rules): p.max_per_region for p in drift.points},
        "sweep_seconds": {str(p.rules): _number(p.seconds) for p in drift.points},
        "targets_met": {
            "over_limit": wall.limit_met,
            "sequential_speedup": wall.speedup_met,
            "one_region": wall.one_region_met,
            "guide_speedup": wall.guide_speedup_met,
            "one_region_guide": wall.guide_one_region_met,
            "unchanged_writes": calls.unchanged_writes == 0,
            "fresh_calls": calls.fresh_extra == 0,
            "cold_start": cold.met,
            "drift_sweep": drift.met,
            "drift_sweep_time": drift.time_met,
        },
    }


def cold_start_only(repeats: int | None) -> int:
    """Every function's cold start and the baseline, ``repeats`` interleaved rounds, printed; 0 when the target is met."""
    from benchmarks import cold_start
    from benchmarks.driver import Bench
    from local.stack import EmbeddedStack

    settings = Settings(cold_rounds=repeats or Settings.cold_rounds)
    print(f"load average before: {' '.join(f'{load:.2f}' for load in os.getloadavg())}", flush=True)
    with (
        EmbeddedStack(aws_port=0, api_port=0, parameters={"LogLevel": "WARNING"}) as stack,
        Bench(stack, settings) as bench,
    ):
        cold = cold_start.measure(bench, profile=False)
    print("\n".join(cold_start.summary(cold)))
    print(f"load average after: {' '.join(f'{load:.2f}' for load in os.getloadavg())}")
    return 0 if cold.met else 1


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    # The functions' metric lines would bury the progress lines (the cold-start children still write theirs).
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    if str(LAYER) not in sys.path:
        sys.path.insert(0, str(LAYER))  # the functions' layer, as the stack and Lambda put it
    if args.only == "cold-start":
        return cold_start_only(args.repeats)
    from benchmarks import (
        api_calls,
        cold_start,
        drift_sweep,
        machine,
        many_accounts,
        plots,
        report,
        transitions,
        wall_time,
    )
    from benchmarks.driver import Bench
    from local.stack import EmbeddedStack

    settings = Settings.for_run(out=args.out, quick=args.quick, latency_ms=args.latency_ms, repeats=args.repeats)
    kept = many_accounts.kept_section(settings.out / "REPORT.md")  # `make bench-accounts` writes that one
    _clear(settings.out)
    started = time.monotonic()
    load_at_start = os.getloadavg()[0]

    def step(name: str) -> None:
        print(f"[{time.monotonic() - started:6.1f} s] {name}", flush=True)

    with (
        EmbeddedStack(aws_port=0, api_port=0, parameters={"LogLevel": "WARNING"}) as stack,
        Bench(stack, settings) as bench,
    ):
        step(f"stack up; {len(settings.all_regions)} regions, {settings.latency_ms:g} ms latency")
        wall = wall_time.measure(bench)
        step("1. wall time done")
        calls = api_calls.measure(bench)
        step("2. API calls done")
        flows = transitions.measure(wall, calls)
        cold = cold_start.measure(bench)
        step("4. cold start done")
        drift = drift_sweep.measure(bench)
        step("5. drift sweep done")
    described = machine.describe()
    # Other processes on the machine take CPU from the emulator: the spreads say how much.
    described["load average"] = f"{load_at_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end (1 minute)"
    results = report.Results(settings, described, wall, calls, flows, cold, drift, time.monotonic() - started)
    plots.write_all(settings.out, wall, calls, cold, drift)
    path = report.write(results, settings.out, kept)
    numbers = headline(results)
    if args.json:
        args.json.write_text(json.dumps(numbers, indent=2, sort_keys=True) + "\n")
    step(f"wrote {path}")
    for target, met in numbers["targets_met"].items():
        print(f"  {target:20s} {'met' if met else 'NOT MET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
