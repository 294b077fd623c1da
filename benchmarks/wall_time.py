"""1. Rollout wall time against the number of regions: ours, the two sequential baselines and the physical limit.

Two passes. Flat: every AWS call waits the same latency; each repetition rolls out to R = 1, 4, 16 and all regions
and after each R runs the sequential baseline (the same four handlers called in process, one region after another,
as a CLI loop would). Latency model (benchmarks/latency_model.py): every call waits its region's round trip from
the home region, Lambda invokes a fixed overhead more; at each R, ours, the sequential baseline, and the physical
limit: the slowest of the R regions' own serial chain (the same handlers for that region alone, no orchestration),
and the AWS guide loop: the 4 calls a region a user following AWS's guide makes (create secret, create rule,
validate, create template), one region after another, reading nothing.
Every ratio compares runs made moments apart. The emulator runs as the stack ships it (engine caches, heap frozen
after provisioning and again after the warm-up: local/emulator/engine_tuning.py).
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from typing import Any

from benchmarks import history
from benchmarks.driver import Bench, RolloutRun
from benchmarks.latency_model import LatencyModel
from benchmarks.settings import HOME_REGION
from benchmarks.stats import median, ratio
from local.emulator import engine_tuning

TARGET_LIMIT = 1.3  # ours / physical limit at most, all regions, latency model
TARGET_SPEEDUP = 10.0  # sequential / ours at least, all regions, latency model
TARGET_ONE_REGION = 2.0  # ours / the CLI loop at most, one region, latency model


class BenchError(RuntimeError):
    """A measured run did not do what it should (the numbers would mean nothing)."""


@dataclass
class WallPoint:
    """Every measurement at one region count R."""

    regions: int
    ours: list[float] = field(default_factory=list)  # execution durations (s)
    sequential: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # process CPU seconds during each rollout
    handler_cpu: list[float] = field(default_factory=list)  # of which in the handlers
    gc: list[float] = field(default_factory=list)  # seconds in garbage collections during each rollout
    gc_full: list[int] = field(default_factory=list)  # full collections during each rollout
    # Under the latency model:
    model_ours: list[float] = field(default_factory=list)
    model_sequential: list[float] = field(default_factory=list)
    model_limit: list[float] = field(default_factory=list)  # the slowest region's serial chain alone
    model_guide: list[float] = field(default_factory=list)  # the AWS guide's 4 calls a region, in a row
    model_cpu: list[float] = field(default_factory=list)
    limit_region: str = ""


@dataclass
class WallResult:
    latency_ms: float
    points: dict[int, WallPoint]
    timeline: list[history.Segment]
    timeline_regions: list[str]
    concurrency: float  # mean number of Map iterations in flight during the all-region rollout shown
    last_runs: dict[int, RolloutRun]  # the last rollout at each R (for the transition counts)
    histories: dict[int, list[dict[str, Any]]]
    heap_objects: int  # objects the garbage collector tracks in this process after the warm-up
    frozen_objects: int  # and those it no longer walks (gc.freeze)
    gc_spans: list[tuple[float, float]]  # full collections during the timeline's rollout, seconds since its start
    model: LatencyModel
    model_histories: dict[int, list[dict[str, Any]]]  # the last rollout at each R under the model
    model_runs: dict[int, RolloutRun]

    @property
    def all_count(self) -> int:
        return max(self.points)

    def scaling_ratios(self) -> list[float]:
        """wall(all) / wall(1) per repetition, flat latency."""
        one, every = self.points[1], self.points[self.all_count]
        return [ratio(a, b) for a, b in zip(every.ours, one.ours, strict=False)]

    def speedups(self, count: int | None = None, *, model: bool = True) -> list[float]:
        """sequential / ours per repetition at R = ``count`` (default: all regions)."""
        point = self.points[count or self.all_count]
        if model:
            return [ratio(s, o) for s, o in zip(point.model_sequential, point.model_ours, strict=False)]
        return [ratio(s, o) for s, o in zip(point.sequential, point.ours, strict=False)]

    def limit_ratios(self, count: int | None = None) -> list[float]:
        """ours / physical limit per repetition at R = ``count`` (default: all regions), latency model."""
        point = self.points[count or self.all_count]
        return [ratio(o, lim) for o, lim in zip(point.model_ours, point.model_limit, strict=False)]

    def guide_speedups(self, count: int | None = None) -> list[float]:
        """The AWS guide loop / ours per repetition at R = ``count`` (default: all regions), latency model."""
        point = self.points[count or self.all_count]
        return [ratio(g, o) for g, o in zip(point.model_guide, point.model_ours, strict=False)]

    @property
    def guide_speedup(self) -> float:
        return median(self.guide_speedups())

    @property
    def guide_one_region(self) -> float:
        """ours / the AWS guide loop for one region."""
        point = self.points[1]
        return median([ratio(o, g) for o, g in zip(point.model_ours, point.model_guide, strict=False)])

    @property
    def guide_speedup_met(self) -> bool:
        return self.guide_speedup >= TARGET_SPEEDUP

    @property
    def guide_one_region_met(self) -> bool:
        return self.guide_one_region <= TARGET_ONE_REGION

    @property
    def scaling(self) -> float:
        return median(self.scaling_ratios())

    @property
    def speedup(self) -> float:
        return median(self.speedups())

    @property
    def over_limit(self) -> float:
        return median(self.limit_ratios())

    @property
    def one_region(self) -> float:
        """ours / the CLI loop for one region (at R = 1 the limit is that loop)."""
        return median(self.limit_ratios(1))

    @property
    def limit_met(self) -> bool:
        return self.over_limit <= TARGET_LIMIT

    @property
    def speedup_met(self) -> bool:
        return self.speedup >= TARGET_SPEEDUP

    @property
    def one_region_met(self) -> bool:
        return self.one_region <= TARGET_ONE_REGION


def _checked(run: RolloutRun) -> RolloutRun:
    if run.outcome != "SUCCEEDED":
        raise BenchError(f"rollout {run.rollout_id} to {len(run.regions)} regions ended {run.outcome}")
    return run


def _ours(bench: Bench, count: int, point: WallPoint, *, model: bool = False) -> RolloutRun:
    regions = bench.settings.regions(count)
    prefix = bench.prefix("wall")
    run = _checked(bench.rollout(prefix, regions, bench.source_secret(prefix)))
    if model:
        point.model_ours.append(run.duration)
        point.model_cpu.append(run.cpu)
    else:
        point.ours.append(run.duration)
        point.cpu.append(run.cpu)
        point.handler_cpu.append(sum(i.cpu for i in run.invocations))
        point.gc.append(run.gc_seconds)
        point.gc_full.append(run.gc_full)
    bench.cleanup(prefix, regions)
    return run


def _sequential(bench: Bench, regions: list[str]) -> float:
    prefix = bench.prefix("seq")
    took = bench.sequential(prefix, regions, bench.source_secret(prefix))
    bench.cleanup(prefix, regions)
    return took


def _guide(bench: Bench, regions: list[str]) -> float:
    prefix = bench.prefix("guide")
    took = bench.guide_loop(prefix, regions)
    bench.cleanup(prefix, regions)
    return took


def _concurrency(segments: list[history.Segment]) -> float:
    """Mean Map iterations in flight: the regions' summed busy spans over the Map's span."""
    spans: dict[str, list[float]] = {}
    for seg in segments:
        if seg.lane != "(shared)":
            lo, hi = spans.get(seg.lane, [seg.start, seg.end])
            spans[seg.lane] = [min(lo, seg.start), max(hi, seg.end)]
    if not spans:
        return 0.0
    busy = sum(hi - lo for lo, hi in spans.values())
    window = max(hi for _, hi in spans.values()) - min(lo for lo, _ in spans.values())
    return busy / window if window > 0 else 0.0


def measure(bench: Bench) -> WallResult:
    """Run both passes (see the module docstring); the medians and ratios are computed by WallResult."""
    settings = bench.settings
    counts = settings.wall_counts
    points = {count: WallPoint(count) for count in counts}
    last_runs: dict[int, RolloutRun] = {}
    with bench.latency(settings.latency_ms):
        # Warm-up (not measured): handler modules imported, boto3 clients made for every region.
        _ours(bench, counts[-1], WallPoint(0))
        _sequential(bench, settings.regions(1))
        _guide(bench, settings.regions(counts[-1]))  # its clients made in every region
        engine_tuning.freeze_heap()  # what the warm-up made lives as long as the stack
        heap_objects, frozen_objects = len(gc.get_objects()), gc.get_freeze_count()
        for _ in range(settings.repeats):
            for count in counts:
                last_runs[count] = _ours(bench, count, points[count])
                points[count].sequential.append(_sequential(bench, settings.regions(count)))
    model = LatencyModel(HOME_REGION, scale=settings.model_scale)
    model_runs: dict[int, RolloutRun] = {}
    with bench.latency_model(model):
        for _ in range(settings.repeats):
            for count in counts:
                point, regions = points[count], settings.regions(count)
                model_runs[count] = _ours(bench, count, point, model=True)
                point.model_sequential.append(_sequential(bench, regions))
                point.model_guide.append(_guide(bench, regions))
                point.limit_region = model.slowest(regions)
                point.model_limit.append(_sequential(bench, [point.limit_region]))
    histories = {count: bench.history(run.execution_arn) for count, run in last_runs.items()}
    model_histories = {count: bench.history(run.execution_arn) for count, run in model_runs.items()}
    shown = model_runs[counts[-1]]
    segments = history.timeline(model_histories[counts[-1]], shown.regions)
    origin = history.started_at(model_histories[counts[-1]])
    spans = []
    if origin is not None:
        zero = origin.timestamp()
        spans = [
            (start - zero, start - zero + took)
            for start, took in bench.gc_pauses
            if zero - took <= start <= zero + shown.duration
        ]
    return WallResult(
        latency_ms=settings.latency_ms,
        points=points,
        timeline=segments,
        timeline_regions=shown.regions,
        concurrency=_concurrency(segments),
        last_runs=last_runs,
        histories=histories,
        heap_objects=heap_objects,
        frozen_objects=frozen_objects,
        gc_spans=spans,
        model=model,
        model_histories=model_histories,
        model_runs=model_runs,
    )
