"""1. Rollout wall time against the number of regions, next to a sequential baseline, and one rollout's timeline.

Each repetition rolls out to R = 1, 4, 16 and all regions, and after each R runs the sequential baseline (the same
four handlers called in process, one region after another) against the same emulator with the same latency, so
every ratio compares runs made moments apart. A last pass repeats the rollouts with the emulator tuned
(benchmarks/emulator_tuning.py: engine caches, frozen heap), a labelled what-if showing how much of the time is the
emulator's own overhead.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from typing import Any

from benchmarks import history
from benchmarks.driver import Bench, RolloutRun
from benchmarks.emulator_tuning import emulator_tuned
from benchmarks.stats import median, ratio

TARGET_SCALING = 1.5  # wall(all) / wall(1) at most
TARGET_SPEEDUP = 10.0  # sequential / ours at least, at all regions


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
    tuned: list[float] = field(default_factory=list)  # execution durations with the emulator tuned (what-if)
    tuned_cpu: list[float] = field(default_factory=list)


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
    gc_spans: list[tuple[float, float]]  # full collections during the timeline's rollout, seconds since its start

    @property
    def all_count(self) -> int:
        return max(self.points)

    def scaling_ratios(self, tuned: bool = False) -> list[float]:
        """wall(all) / wall(1) per repetition."""
        one, every = self.points[1], self.points[self.all_count]
        first, last = (one.tuned, every.tuned) if tuned else (one.ours, every.ours)
        return [ratio(a, b) for a, b in zip(last, first, strict=False)]

    def speedups(self, count: int | None = None) -> list[float]:
        """sequential / ours per repetition at R = ``count`` (default: all regions)."""
        point = self.points[count or self.all_count]
        return [ratio(s, o) for s, o in zip(point.sequential, point.ours, strict=False)]

    @property
    def scaling(self) -> float:
        return median(self.scaling_ratios())

    @property
    def speedup(self) -> float:
        return median(self.speedups())

    @property
    def scaling_met(self) -> bool:
        return self.scaling <= TARGET_SCALING

    @property
    def speedup_met(self) -> bool:
        return self.speedup >= TARGET_SPEEDUP


def _checked(run: RolloutRun) -> RolloutRun:
    if run.outcome != "SUCCEEDED":
        raise BenchError(f"rollout {run.rollout_id} to {len(run.regions)} regions ended {run.outcome}")
    return run


def _ours(bench: Bench, count: int, point: WallPoint, *, tuned: bool = False) -> RolloutRun:
    regions = bench.settings.regions(count)
    prefix = bench.prefix("wall")
    run = _checked(bench.rollout(prefix, regions, bench.source_secret(prefix)))
    if tuned:
        point.tuned.append(run.duration)
        point.tuned_cpu.append(run.cpu)
    else:
        point.ours.append(run.duration)
        point.cpu.append(run.cpu)
        point.handler_cpu.append(sum(i.cpu for i in run.invocations))
        point.gc.append(run.gc_seconds)
        point.gc_full.append(run.gc_full)
    bench.cleanup(prefix, regions)
    return run


def _sequential(bench: Bench, count: int, point: WallPoint) -> None:
    regions = bench.settings.regions(count)
    prefix = bench.prefix("seq")
    point.sequential.append(bench.sequential(prefix, regions, bench.source_secret(prefix)))
    bench.cleanup(prefix, regions)


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
    """Run the sweep (see the module docstring); the medians and ratios are computed by WallResult."""
    settings = bench.settings
    counts = settings.wall_counts
    points = {count: WallPoint(count) for count in counts}
    last_runs: dict[int, RolloutRun] = {}
    with bench.latency(settings.latency_ms):
        # Warm-up (not measured): handler modules imported, boto3 clients made for every region.
        _ours(bench, counts[-1], WallPoint(0))
        _sequential(bench, 1, WallPoint(0))
        heap_objects = len(gc.get_objects())
        for _ in range(settings.repeats):
            for count in counts:
                last_runs[count] = _ours(bench, count, points[count])
                _sequential(bench, count, points[count])
        with emulator_tuned():
            _ours(bench, counts[-1], WallPoint(0), tuned=True)  # fill the caches
            for _ in range(settings.repeats):
                for count in counts:
                    _ours(bench, count, points[count], tuned=True)
    histories = {count: bench.history(run.execution_arn) for count, run in last_runs.items()}
    shown = last_runs[counts[-1]]
    segments = history.timeline(histories[counts[-1]], shown.regions)
    origin = history.started_at(histories[counts[-1]])
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
        gc_spans=spans,
    )
