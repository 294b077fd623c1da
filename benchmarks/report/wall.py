"""Section 1: rollout wall time, the sequential baseline, the timeline, and what dominates when a target is missed."""

from __future__ import annotations

from benchmarks import history, plots
from benchmarks.latency_model import rtt_ms
from benchmarks.report.markdown import secs, spread, table, times, verdict
from benchmarks.report.results import Results
from benchmarks.stats import median, ratio
from benchmarks.wall_time import TARGET_LIMIT, TARGET_ONE_REGION, TARGET_SPEEDUP


def section(results: Results) -> list[str]:
    wall = results.wall
    every = wall.all_count
    lines = [
        "## 1. Rollout wall time",
        "",
        f"Execution start to end by the engine's clock, median over {results.settings.repeats} repetition(s) "
        "(min-max in brackets). The sequential baseline calls the same four handlers in process, one region after "
        "another (StoreSecret -> CreateRule -> ValidateRule -> ApplyTemplate), as a CLI loop would, against the same "
        "emulator with the same latency, right after each rollout: our own read-then-write steps, about 7 round "
        "trips a region. The AWS guide loop is the honest baseline: what a user following AWS's guide "
        "(seed-ecr-pull-through-cache-rules) does, 4 boto3 calls a region in a row (CreateSecret, "
        "CreatePullThroughCacheRule, ValidatePullThroughCacheRule, CreateRepositoryCreationTemplate), reading "
        "nothing, so taking no snapshot to roll back from. The physical limit is the slowest of the R "
        "regions' own serial chain: the same handlers for that region alone, with no orchestration. All run warm (a "
        "first, unmeasured rollout imported the handlers and made every region's clients). CPU is this process's "
        "CPU time during the rollout (emulator, engine and handlers share it); GC pauses, the time its garbage "
        "collector ran meanwhile.",
        "",
        f"**Latency model** (the targets are judged here): {wall.model.describe()}. Round trips from "
        f"{wall.model.home}: "
        + ", ".join(
            f"{region} {rtt_ms(wall.model.home, region):.0f} ms"
            for region in sorted(results.settings.all_regions, key=lambda r: rtt_ms(wall.model.home, r))[::8]
        )
        + f", slowest {wall.points[every].limit_region} "
        f"{rtt_ms(wall.model.home, wall.points[every].limit_region):.0f} ms.",
        "",
    ]
    rows = []
    for count, point in sorted(wall.points.items()):
        rows.append(
            (
                count,
                spread(point.model_ours),
                spread(point.model_sequential),
                spread(point.model_guide),
                f"{spread(point.model_limit)} ({point.limit_region})",
                times(median(wall.limit_ratios(count))),
                times(median(wall.speedups(count))),
                times(median(wall.guide_speedups(count))),
                f"{secs(median(point.model_cpu))} / {ratio(median(point.model_cpu), median(point.model_ours)):.2f}",
            )
        )
    lines += table(
        [
            "R",
            "pullthrough",
            "sequential (CLI loop)",
            "AWS guide loop (4 calls)",
            "physical limit (region)",
            "ours / limit",
            "sequential / ours",
            "guide loop / ours",
            "CPU / CPU per wall",
        ],
        rows,
    )
    lines += [
        f"- ours / physical limit at {every} regions, per repetition: "
        f"{', '.join(times(r) for r in wall.limit_ratios())}; median **{times(wall.over_limit)}** "
        f"(target <= {TARGET_LIMIT}: {verdict(wall.limit_met)}).",
        f"- sequential / ours at {every} regions, per repetition: {', '.join(times(r) for r in wall.speedups())}; "
        f"median **{times(wall.speedup)}** (target >= {TARGET_SPEEDUP:g}: {verdict(wall.speedup_met)}).",
        f"- one region: ours / the CLI loop for that region, per repetition: "
        f"{', '.join(times(r) for r in wall.limit_ratios(1))}; median **{times(wall.one_region)}** "
        f"(target <= {TARGET_ONE_REGION:g}: {verdict(wall.one_region_met)}).",
        f"- against the AWS guide loop: guide loop / ours at {every} regions, per repetition: "
        f"{', '.join(times(r) for r in wall.guide_speedups())}; median **{times(wall.guide_speedup)}** (target >= "
        f"{TARGET_SPEEDUP:g}: {verdict(wall.guide_speedup_met)}); one region, ours / the guide loop: median "
        f"**{times(wall.guide_one_region)}** (target <= {TARGET_ONE_REGION:g}: {verdict(wall.guide_one_region_met)}). "
        "The guide loop makes 4 calls a region where our chain makes 7 latency-priced steps (section 2: the "
        "snapshot's reads, the source secret, the reads each step makes before it writes, and the bookkeeping), so "
        "one region alone costs more than the guide's loop; every region at once is what the speed-up buys.",
        "",
        f"**Flat latency**, {wall.latency_ms:g} ms per call (for comparison with earlier reports):",
        "",
    ]
    flat = []
    for count, point in sorted(wall.points.items()):
        flat.append(
            (
                count,
                spread(point.ours),
                spread(point.sequential),
                times(median(wall.speedups(count, model=False))),
                f"{secs(median(point.cpu))} / {ratio(median(point.cpu), median(point.ours)):.2f}",
                secs(median(point.handler_cpu)),
                secs(median(point.gc)),
            )
        )
    lines += table(
        ["R", "pullthrough", "sequential", "sequential / ours", "CPU / CPU per wall", "of which handlers", "GC pauses"],
        flat,
    )
    lines += [
        f"- wall(all) / wall(1), per repetition: {', '.join(times(r) for r in wall.scaling_ratios())}; "
        f"median {times(wall.scaling)}.",
        "",
        f"![wall time against R]({plots.WALL})",
        "",
        *critical_path(results),
        f"The timeline below is one rollout to {every} regions under the latency model, built from its execution "
        "history (each Map iteration's TaskStateEntered -> TaskStateExited, attributed to its iteration through "
        f"previousEventId). On average {wall.concurrency:.1f} regions were in flight at once: the Map iterations "
        "really run concurrently in the local engine (threads)."
        + (
            f" Shaded: {len(wall.gc_spans)} full garbage collection(s) of the emulator's process, "
            f"{sum(b - a for a, b in wall.gc_spans):.2f} s in all, during which every region stands still."
            if wall.gc_spans
            else ""
        ),
        "",
        f"![timeline of one all-region rollout]({plots.TIMELINE})",
        "",
    ]
    if not (
        wall.limit_met
        and wall.speedup_met
        and wall.one_region_met
        and wall.guide_speedup_met
        and wall.guide_one_region_met
    ):
        lines += analysis(results)
    return lines


def critical_path(results: Results) -> list[str]:
    """The latency-priced steps on each region's chain in the all-region rollout, from its execution history."""
    wall = results.wall
    every = wall.all_count
    path = history.critical_path(wall.model_histories[every], wall.model_runs[every].regions)
    if path is None:
        return [
            "**Critical path.** The execution history shows no Map iteration's states (a Distributed Map's "
            "iterations run as child executions), so the steps per region are not counted here.",
            "",
        ]
    shared = ", ".join(path.shared) or "none"
    own = ", ".join(path.per_region) or "none"
    return [
        f"**Critical path per region** (fresh rollout to {every} regions, counted from its execution history: Task "
        "states, each a Lambda invoke or a service call the engine makes and so a latency-priced step): "
        f"**{len(path.shared) + len(path.per_region)}** = {len(path.shared)} shared by every region ({shared}) + "
        f"{len(path.per_region)} in the region's own iteration ({own}). The four named steps are 4 of them; the "
        "rest is orchestration.",
        "",
        *step_times(results),
    ]


# The same table from the report of 2026-11-30 02:17 UTC (commit 42f8ed0), before SnapshotRegion made its three reads
# at once and dropped the tolerance gate's read when every region starts together: an earlier run, for comparison.
BEFORE = {
    "one region (af-south-1): ours 2.59 s, ours / limit": "1.79x",
    "all regions: ours / limit": "4.01x, sequential / ours 5.16x",
    "SnapshotRegion": "GetItem, then 3 reads one after another (3 round trips)",
}


def step_times(results: Results) -> list[str]:
    """Each Task state's time on the one-region rollout's chain under the latency model, in round trips to the
    region (Lambda's invoke overhead taken off first)."""
    wall = results.wall
    run = wall.model_runs.get(1)
    if run is None:
        return []
    region = run.regions[0]
    rtt = rtt_ms(wall.model.home, region) * wall.model.scale
    overhead = wall.model.lambda_invoke_ms * wall.model.scale
    rows = []
    for seg in history.timeline(wall.model_histories[1], run.regions):
        took = (seg.end - seg.start) * 1000
        lambda_step = seg.state not in ("RecordRegion", "RecordFailedRegion")
        trips = max(0.0, took - (overhead if lambda_step else 0.0)) / rtt
        where = "home region" if seg.lane == "(shared)" or not lambda_step else f"{trips:.1f}"
        rows.append([seg.state, f"{took:.0f} ms", where])
    return [
        f"Where the one-region rollout's time goes (to {region}, round trip {rtt:.0f} ms; last repetition under the "
        "model; round trips = (step time - Lambda's invoke overhead) / the region's round trip, so CPU and the "
        "home-region calls a step makes count as a fraction):",
        "",
        *table(["Task state", "time", "round trips to the region"], rows),
        "Before (the report of 2026-11-30 02:17 UTC, on commit 42f8ed0, machine load 9-12; not measured again): "
        + "; ".join(f"{k} {v}" for k, v in BEFORE.items())
        + ".",
        "",
    ]


def analysis(results: Results) -> list[str]:
    wall = results.wall
    one, every = wall.points[1], wall.points[wall.all_count]
    cpu_all, wall_all = median(every.model_cpu), median(every.model_ours)
    per_region_cpu = ratio(cpu_all - median(one.model_cpu), wall.all_count - 1)
    flat_cpu = ratio(median(every.cpu) - median(one.cpu), wall.all_count - 1)
    handler_share = ratio(median(every.handler_cpu), median(every.cpu))
    overhead_one = median(one.model_ours) - median(one.model_limit)
    on_aws = median(every.model_limit) + overhead_one
    cores = results.machine.get("cores", "?")
    return [
        "### What dominates the wall time, and what would fix it",
        "",
        f"- **Orchestration on the chain.** One region alone takes {secs(median(one.model_ours))} against its CLI "
        f"loop's {secs(median(one.model_limit))}: {secs(overhead_one)} of orchestration. Each Task state beyond the "
        "four named steps is a Lambda invoke or a service call the engine makes from the home region (a round trip "
        "plus, for Lambda, the invoke overhead), and the engine's own transitions cost CPU in this process. Fewer "
        "Task states per region (bookkeeping folded into states that already run, or recorded once per Map) shrink "
        "this.",
        f"- **CPU, in one process.** At {wall.all_count} regions under the model this process used "
        f"{secs(cpu_all)} of CPU in {secs(wall_all)} of wall time (CPU / wall = {ratio(cpu_all, wall_all):.2f}, on "
        f"{cores} cores): each extra region adds about {per_region_cpu * 1000:.0f} ms of CPU (flat latency: "
        f"{flat_cpu * 1000:.0f} ms), and the iterations queue for the GIL instead of overlapping their waits. The "
        f"handlers' own code is {handler_share:.0%} of the CPU; the rest is the emulator (moto's HTTP server and "
        "dispatch, its ASL interpreter). Already cut in the stack as shipped (local/emulator/engine_tuning.py): "
        "JSONPath parsers and the engine's SDK clients (one per region, service and role) cached, moto's module "
        "list, response-method lists and error tables cached, the heap frozen after provisioning; the IAM check "
        "decides each (function, action, resource, conditions) once. Where the rest goes: `python -m "
        "benchmarks.cpu_profile --profile` (py-spy across every thread). What would cut it: keep-alive "
        "connections to the emulator (its werkzeug server opens a connection and a thread per request), the "
        "Lambda handlers in worker processes, so their CPU spreads over the cores.",
        f"- **Garbage collection.** After the warm-up {wall.frozen_objects / 1e6:.1f} million objects are frozen "
        f"(gc.freeze: never walked again); what the rollouts allocate is collected as usual: GC pauses per "
        f"all-region rollout at flat latency {secs(median(every.gc))} ({median(every.gc_full):.0f} full "
        "collection(s)).",
        "- **On AWS** none of this CPU is shared: each invocation runs in its own sandbox and an inline Map runs up "
        "to 40 iterations at once, so an all-region rollout should take about its slowest region's chain plus the "
        f"orchestration measured at one region: {secs(on_aws)}, which would make ours / limit "
        f"{times(ratio(on_aws, median(every.model_limit)))} and sequential / ours "
        f"{times(ratio(median(every.model_sequential), on_aws))} (a what-if from the figures above, not measured).",
        "",
    ]
