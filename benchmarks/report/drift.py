"""Section 5: what a drift sweep costs per region as the rules grow."""

from __future__ import annotations

from benchmarks import plots
from benchmarks.drift_sweep import TARGET_CALLS_PER_REGION, describe_calls
from benchmarks.report.markdown import secs, table, verdict
from benchmarks.report.results import Results


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
                secs(point.seconds),
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
                "sweep time",
            ],
            rows,
        ),
        f"Target (constant in the rules, <= {TARGET_CALLS_PER_REGION} per region at 50 rules): "
        f"{verdict(drift.met)}. The regional reads are one paginated call per resource kind (pages of up to 1,000 "
        "rules or templates, 100 secrets), so they stay flat until a region outgrows one page; ECR's 50-rule quota "
        "keeps rules and templates to one page. The home-region bookkeeping: one UpdateItem per rule whose report "
        "says something new (a rule swept before and still in the same state is not written again), those written "
        "10 at a time, so the sweep's time stays near flat in the rules "
        f"({secs(first.seconds)} at {first.rules}, {secs(last.seconds)} at {last.rules}; target <= 1.5x: "
        f"{verdict(last.seconds <= 1.5 * first.seconds)}).",
        "",
        f"![drift sweep calls per region]({plots.DRIFT})",
        "",
    ]
