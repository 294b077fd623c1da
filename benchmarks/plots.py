"""The report's figures (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from benchmarks.stats import median

if TYPE_CHECKING:
    from benchmarks.api_calls import CallsResult
    from benchmarks.cold_start import ColdResult
    from benchmarks.drift_sweep import DriftResult
    from benchmarks.wall_time import WallResult

WALL = "wall_time.png"
TIMELINE = "timeline.png"
COLD = "cold_start.png"
CALLS = "api_calls.png"
DRIFT = "drift_sweep.png"
ALL = (WALL, TIMELINE, COLD, CALLS, DRIFT)
STATE_COLOURS = {
    "CheckTolerance": "#bbbbbb",
    "StoreSecret": "#4c72b0",
    "CreateRule": "#dd8452",
    "ValidateRule": "#55a868",
    "ApplyTemplate": "#c44e52",
    "RecordRegion": "#8172b3",
    "CountFailures": "#937860",
    "FinishRollout": "#da8bc3",
    "Rollback": "#000000",
}


def _save(figure: plt.Figure, path: Path) -> None:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def wall_time(result: WallResult, path: Path) -> None:
    """Wall time against R under the latency model: ours, the sequential baseline, the physical limit; and ours at
    the flat latency."""
    counts = sorted(result.points)
    figure, axes = plt.subplots(figsize=(7, 4.2))
    series = (
        ("pullthrough (Step Functions Map)", [result.points[r].model_ours for r in counts], "o-", "#4c72b0"),
        ("sequential handlers (CLI loop)", [result.points[r].model_sequential for r in counts], "s-", "#c44e52"),
        ("physical limit (slowest region alone)", [result.points[r].model_limit for r in counts], "^-", "#55a868"),
        (f"pullthrough, flat {result.latency_ms:g} ms", [result.points[r].ours for r in counts], "o--", "#8172b3"),
    )
    for label, samples, style, colour in series:
        if not all(samples):
            continue
        mid = [median(s) for s in samples]
        low = [m - min(s) for m, s in zip(mid, samples, strict=True)]
        high = [max(s) - m for m, s in zip(mid, samples, strict=True)]
        axes.errorbar(counts, mid, yerr=[low, high], fmt=style, color=colour, label=label, capsize=3)
    axes.set_xlabel("regions rolled out to (R)")
    axes.set_ylabel("wall time, s (median; bars: min-max)")
    axes.set_title("Rollout wall time, latency model (per-region round trips)")
    axes.set_xticks(counts)
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    axes.legend()
    _save(figure, path)


def timeline(result: WallResult, path: Path) -> None:
    """A Gantt chart of one all-region rollout from its execution history: each region's task states."""
    segments = result.timeline
    regions = sorted(
        {s.lane for s in segments} - {"(shared)"}, key=lambda lane: min(s.start for s in segments if s.lane == lane)
    )
    lanes = ["(shared)", *regions]
    figure, axes = plt.subplots(figsize=(10, 1.4 + 0.22 * len(lanes)))
    seen: set[str] = set()
    for seg in segments:
        colour = STATE_COLOURS.get(seg.state, "#999999")
        label = seg.state if seg.state not in seen else None
        seen.add(seg.state)
        axes.barh(lanes.index(seg.lane), seg.end - seg.start, left=seg.start, color=colour, label=label, height=0.7)
    for number, (start, end) in enumerate(result.gc_spans):
        axes.axvspan(start, end, color="black", alpha=0.12, label=None if number else "full GC pause (whole process)")
    axes.set_yticks(range(len(lanes)))
    axes.set_yticklabels(lanes, fontsize=7)
    axes.invert_yaxis()
    axes.set_xlabel("seconds since the execution started")
    axes.set_title(
        f"One rollout to {len(result.timeline_regions)} regions (task states from the execution history; "
        f"mean {result.concurrency:.1f} regions in flight)",
        fontsize=9,
    )
    axes.grid(axis="x", alpha=0.3)
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    _save(figure, path)


def cold_start(result: ColdResult, path: Path) -> None:
    """Import and first-invocation time per function against the bare boto3 baseline."""
    names = ["baseline (boto3)", *(lid.removesuffix("Function") for lid in result.functions)]
    rows = [result.baseline, *result.functions.values()]
    figure, axes = plt.subplots(figsize=(9, 1.2 + 0.35 * len(rows)))
    inits = [row.init * 1000 for row in rows]
    invokes = [row.invoke * 1000 for row in rows]
    axes.barh(names, inits, color="#4c72b0", label="import (init)")
    axes.barh(names, invokes, left=inits, color="#dd8452", label="first invocation")
    base = result.baseline.total * 1000
    axes.axvline(base, color="black", linewidth=1, label="baseline")
    axes.axvline(base * 1.25, color="#c44e52", linestyle="--", linewidth=1, label="target: 1.25 x baseline")
    axes.invert_yaxis()
    axes.set_xlabel("ms (median of the rounds)")
    axes.set_title("Cold start: fresh interpreter, handler import + first invocation")
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    _save(figure, path)


def api_calls(result: CallsResult, path: Path) -> None:
    """Reads and writes per region for each scenario (the most any region made)."""
    names = list(result.scenarios)
    reads, writes = [], []
    for name in names:
        totals = result.scenarios[name].totals().values()
        worst = max(totals, key=lambda t: t[0], default=(0, 0))
        reads.append(worst[0] - worst[1])
        writes.append(worst[1])
    figure, axes = plt.subplots(figsize=(7, 3.6))
    axes.bar(names, reads, color="#55a868", label="reads")
    axes.bar(names, writes, bottom=reads, color="#c44e52", label="writes")
    axes.set_ylabel("API calls per region (handlers)")
    axes.set_title("AWS API calls per region")
    axes.legend()
    _save(figure, path)


def drift_sweep(result: DriftResult, path: Path) -> None:
    """Sweep calls per region against the number of rules per region."""
    figure, axes = plt.subplots(figsize=(6, 3.6))
    labels = [str(point.rules) for point in result.points]
    axes.bar(labels, [point.max_per_region for point in result.points], color="#4c72b0")
    axes.axhline(3, color="#c44e52", linestyle="--", label="target: 3")
    axes.set_xlabel("rules per region")
    axes.set_ylabel("API calls per region (most of any region)")
    axes.set_title("Drift sweep cost")
    axes.legend()
    _save(figure, path)


def write_all(out: Path, wall: WallResult, calls: CallsResult, cold: ColdResult, drift: DriftResult) -> list[Path]:
    """Every figure into ``out``; their paths."""
    figures = {
        WALL: lambda p: wall_time(wall, p),
        TIMELINE: lambda p: timeline(wall, p),
        COLD: lambda p: cold_start(cold, p),
        CALLS: lambda p: api_calls(calls, p),
        DRIFT: lambda p: drift_sweep(drift, p),
    }
    written = []
    for name, draw in figures.items():
        draw(out / name)
        written.append(out / name)
    return written
