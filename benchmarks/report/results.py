"""Everything one run measured, as the report sections read it."""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.api_calls import CallsResult
from benchmarks.cold_start import ColdResult
from benchmarks.drift_sweep import DriftResult
from benchmarks.settings import Settings
from benchmarks.transitions import TransitionsResult
from benchmarks.wall_time import WallResult


@dataclass
class Results:
    settings: Settings
    machine: dict[str, str]
    wall: WallResult
    calls: CallsResult
    transitions: TransitionsResult
    cold: ColdResult
    drift: DriftResult
    seconds: float  # the whole run
