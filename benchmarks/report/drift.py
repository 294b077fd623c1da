"""Section 5: what a drift sweep costs per region as the rules grow."""

from __future__ import annotations

from benchmarks import plots
from benchmarks.drift_sweep import TARGET_CALLS_PER_REGION, TARGET_TIME_RATIO, describe_calls
from benchmarks.report.markdown import secs, spread, table, times, verdict
from benchmarks.report.results import Results
from benchmarks.stats import median


def section(results: Results) -> list[str]:
    drift = results.drift
    rows = []
    for point in drift.points:
        sample = point.per_region[point.regions[0]]
        rows.append(
            (
                point.rules,
                point.max_per_region,
                describe_calls(sample),
                describe_calls(point.source_region),
                describe_calls(point.bookkeeping),
                spread(point.runs),
                f"{secs(median(point.cpu))} / {median(point.cpu) / point.seconds:.2f}",
                secs(point.unchanged_seconds),
            )
        )
    regions = drift.points[0].regions if drift.points else []
    first, last = drift.points[0], drift.points[-1]
    return [
        "## 5. Drift sweep",
        "",
        f"{len(regions)} region(s) ({', '.join(regions)}), each holding 1, 10, then 50 rules (ECR's quota), every one "
        "in sync (secret, rule, creation template, desired record). `DriftSweepFunction` is invoked with "
        f'`{{"mode": "report"}}` at {drift.latency_ms:g} ms latency. Calls are counted by the region they went to.',
        "",
        *table(
            [
                "rules / region",
                "calls / region (most)",
                "per region, by operation",
                "source secrets' region (home)",
                "home-region bookkeeping",
                "sweep time (every report new)",
                "CPU / CPU per wall",
                "sweep time (reports unchanged)",
            ],
            rows,
        ),
        f"Target (constant in the rules, <= {TARGET_CALLS_PER_REGION} per region at 50 rules): "
        f"{verdict(drift.met)}. The regional reads are one paginated call per resource kind (pages of up to 1,000 "
        "rules or templates, 100 secrets), the three kinds of a region read at once, so they stay flat until a region "
        "outgrows one page; ECR's 50-rule quota keeps rules and templates to one page. The home-region bookkeeping: "
        "one Query for the desired rules, and one UpdateItem per rule whose report says something new (a rule swept "
        "before and still in the same state is not written again), all sent at once. The sweep time is the first "
        "sweep after the rules' rollouts, when every report is new and written (median of "
        f"{len(first.runs)}, min-max in brackets); CPU is this process's (emulator, engine and handler share it). "
        f"Sweep time {secs(first.seconds)} at {first.rules} rule(s), {secs(last.seconds)} at {last.rules}: "
        f"{times(last.seconds / first.seconds)} (target <= {TARGET_TIME_RATIO:g}x: {verdict(drift.time_met)}).",
        "",
        f"![drift sweep calls per region]({plots.DRIFT})",
        "",
    ]
