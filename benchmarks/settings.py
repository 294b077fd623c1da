"""What a benchmark run measures: latency, repetitions, region counts; the regions it rolls out to."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import botocore.session

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks"
HOME_REGION = "us-east-1"


@cache
def aws_partition_ecr_regions() -> tuple[str, ...]:
    """Regions of the ``aws`` partition that ECR serves (botocore's data) and that the app accepts, sorted."""
    from pullthrough.exceptions import InvalidRequest
    from pullthrough.regions import check_region, ecr_regions

    offered = botocore.session.get_session().get_available_regions("ecr", partition_name="aws")
    accepted = []
    for region in offered:
        try:
            check_region(region)
        except InvalidRequest:
            continue
        if region in ecr_regions():
            accepted.append(region)
    return tuple(sorted(accepted))


@dataclass(frozen=True)
class Settings:
    """One run's knobs. ``quick`` shrinks everything so the smoke test stays fast."""

    out: Path = DEFAULT_OUT
    quick: bool = False
    latency_ms: float = 50.0
    repeats: int = 5
    cold_rounds: int = 9  # more than the other repetitions: each child's wall time swings with the machine's load
    all_regions: tuple[str, ...] = field(default_factory=aws_partition_ecr_regions)
    region_counts: tuple[int, ...] = (1, 4, 16)
    calls_regions: int = 4
    drift_regions: int = 4
    drift_rule_counts: tuple[int, ...] = (1, 10, 50)
    model_scale: float = 1.0  # the latency model's waits times this (quick: 0.1, so the smoke test stays short)

    @classmethod
    def for_run(cls, *, out: Path | None, quick: bool, latency_ms: float | None, repeats: int | None) -> Settings:
        """Full-run defaults, or quick ones (2 regions, 1 repetition, no latency); explicit values win."""
        if quick:
            regions = aws_partition_ecr_regions()[:2]
            return cls(
                out=out or DEFAULT_OUT,
                quick=True,
                latency_ms=0.0 if latency_ms is None else latency_ms,
                repeats=repeats or 1,
                cold_rounds=repeats or 1,
                all_regions=regions,
                region_counts=(1,),
                calls_regions=2,
                drift_regions=1,
                model_scale=0.1,
            )
        reps = repeats or cls.repeats
        return cls(
            out=out or DEFAULT_OUT,
            latency_ms=cls.latency_ms if latency_ms is None else latency_ms,
            repeats=reps,
            cold_rounds=max(reps, cls.cold_rounds),
        )

    @property
    def wall_counts(self) -> list[int]:
        """The region counts R of the wall-time sweep: the configured ones below "all", then all."""
        total = len(self.all_regions)
        return sorted({r for r in self.region_counts if r < total} | {total})

    def regions(self, count: int) -> list[str]:
        """The first ``count`` regions (the same ones every time, so runs compare)."""
        return list(self.all_regions[:count])
