"""3. Step Functions state transitions and Lambda invocations per region, and what the transitions cost.

Transitions are the execution history's ``*StateEntered`` events: those inside a region's Map iterations count for
that region, the shared ones (Prepare, the Map states, CountFailures, FinishRollout...) are spread over the R
regions of the rollout. Standard workflows cost $0.025 per 1,000 state transitions (us-east-1 list price, free
tier ignored). Lambda invocations come from the in-process runner's ``after_call`` hook.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benchmarks import history
from benchmarks.api_calls import CallsResult
from benchmarks.driver import RolloutRun
from benchmarks.stats import median
from benchmarks.wall_time import WallResult

PRICE_PER_1000_TRANSITIONS = 0.025  # USD, Standard workflows


@dataclass(frozen=True)
class TransitionRow:
    """Transitions and invocations of one rollout, per region."""

    label: str
    regions: int
    per_iteration: float  # median over the rollout's regions
    shared: int
    lambda_per_iteration: float
    lambda_shared: int

    @property
    def per_region(self) -> float:
        return self.per_iteration + self.shared / self.regions

    @property
    def lambda_per_region(self) -> float:
        return self.lambda_per_iteration + self.lambda_shared / self.regions

    @property
    def cost_per_1000_region_rollouts(self) -> float:
        """USD for 1,000 region-rollouts of this shape: transitions per region x 1,000 x price / 1,000."""
        return self.per_region * PRICE_PER_1000_TRANSITIONS


@dataclass
class TransitionsResult:
    rows: list[TransitionRow]


def row(label: str, run: RolloutRun, events: list[dict[str, Any]]) -> TransitionRow:
    """Count one rollout's transitions (history) and Lambda invocations (runner hook)."""
    counted = history.transitions(events)
    per_region = counted.per_region(run.regions)
    invocations = [i for i in run.invocations if i.task_region in per_region]
    shared_invocations = [i for i in run.invocations if i.task_region is None]
    return TransitionRow(
        label=label,
        regions=len(run.regions),
        per_iteration=median(per_region.values()),
        shared=counted.shared,
        lambda_per_iteration=len(invocations) / len(run.regions),
        lambda_shared=len(shared_invocations),
    )


def measure(wall: WallResult, calls: CallsResult) -> TransitionsResult:
    """Rows for the fresh rollouts of the wall-time sweep and for the call-count scenarios."""
    rows = [row(f"fresh, R={count}", run, wall.histories[count]) for count, run in sorted(wall.last_runs.items())]
    for name in ("unchanged", "rollback"):
        scenario = calls.scenarios[name]
        rows.append(row(f"{name}, R={len(scenario.regions)}", scenario.run, scenario.events))
    return TransitionsResult(rows)
