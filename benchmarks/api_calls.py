"""2. AWS API calls per region, by step and operation: a fresh rollout, the same rollout repeated unchanged, a
credential change, and a rollback (one region fails validation through the ECR extension's ``fail_validation``).

"Writes" are calls that change the resources a rollout manages (ECR, Secrets Manager); the snapshot's DynamoDB
PutItem is the app's own bookkeeping and is listed, not counted as one. Counts are of the calls the handlers make (client side, see counters.py), attributed to the region of the Map
iteration that made them; FinishRollout's home-region calls are per rollout, not per region, and are listed apart.
The state machine's own DynamoDB tasks (CheckTolerance, RecordRegion) are counted from the execution history.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from benchmarks import history
from benchmarks.counters import changes_resources
from benchmarks.driver import STEPS, Bench, RolloutRun
from benchmarks.wall_time import BenchError
from local.emulator import ecr_extension


@dataclass(frozen=True)
class Requirement:
    """One call a fresh rollout to a region cannot be safe without, derived from the API, not from our code."""

    need: str  # which requirement it meets: snapshot (for rollback), credentials, write, validation
    step: str  # the step of ours where it belongs
    operation: str
    why: str
    in_guide: bool  # AWS's guide (seed-ecr-pull-through-cache-rules) makes it too


# A fresh rollout to a region must (1) know what the region held before its first write, so a rollback restores
# exactly that and deletes only what it created: a read of each resource it may write; recorded durably before the
# first write, since a Lambda can die between steps; (2) get the credentials, which live only in the home region's
# source secret (never in the execution's input); (3) write the secret, the rule and the template; (4) ask ECR to
# validate the rule. Nothing else: on a fresh region the snapshot already says each resource is absent, so a step
# has nothing to compare before it creates (a create that meets an existing resource fails, and is read then).
REQUIREMENTS = (
    Requirement("snapshot", "SnapshotRegion", "DescribeSecret", "the region's secret before (ARN, version)", False),
    Requirement("snapshot", "SnapshotRegion", "DescribePullThroughCacheRules", "the rule before", False),
    Requirement("snapshot", "SnapshotRegion", "DescribeRepositoryCreationTemplates", "the template before", False),
    Requirement("snapshot", "SnapshotRegion", "PutItem", "the snapshot recorded before the first write", False),
    Requirement("credentials", "StoreSecret", "GetSecretValue", "the source secret (home region)", False),
    Requirement("write", "StoreSecret", "CreateSecret", "the region's secret", True),
    Requirement("write", "CreateRule", "CreatePullThroughCacheRule", "the rule", True),
    Requirement("validation", "ValidateRule", "ValidatePullThroughCacheRule", "ECR's verdict on the rule", True),
    Requirement("write", "ApplyTemplate", "CreateRepositoryCreationTemplate", "the creation template", True),
)
# Calls our steps make beyond the requirements on a fresh region, and why they make them.
BEYOND_WHY = {
    ("StoreSecret", "GetSecretValue"): "reads the region's own secret to compare, though the snapshot said none",
    ("CreateRule", "DescribePullThroughCacheRules"): "reads the rule again before creating it",
    ("ApplyTemplate", "DescribeRepositoryCreationTemplates"): "reads the template again before creating it",
}


def _needed_fresh() -> dict[str, Counter[str]]:
    steps: dict[str, Counter[str]] = {}
    for req in REQUIREMENTS:
        steps.setdefault(req.step, Counter())[req.operation] += 1
    return steps


# What each step needs, per region. Fresh: derived from REQUIREMENTS. The others are what the steps must read to
# compare (unchanged: no write; a credential change: the one write) and are listed, not judged.
NEEDED: dict[str, dict[str, Counter[str]]] = {
    "fresh": _needed_fresh(),
    "unchanged": {
        "SnapshotRegion": Counter(
            {
                "DescribeSecret": 1,
                "DescribePullThroughCacheRules": 1,
                "DescribeRepositoryCreationTemplates": 1,
                "PutItem": 1,
            }
        ),
        "StoreSecret": Counter({"GetSecretValue": 2}),
        "CreateRule": Counter({"DescribePullThroughCacheRules": 1}),
        "ValidateRule": Counter({"ValidatePullThroughCacheRule": 1}),
        "ApplyTemplate": Counter({"DescribeRepositoryCreationTemplates": 1}),
    },
    "credential change": {
        "SnapshotRegion": Counter(
            {
                "DescribeSecret": 1,
                "DescribePullThroughCacheRules": 1,
                "DescribeRepositoryCreationTemplates": 1,
                "PutItem": 1,
            }
        ),
        "StoreSecret": Counter({"GetSecretValue": 2, "PutSecretValue": 1}),
        "CreateRule": Counter({"DescribePullThroughCacheRules": 1}),
        "ValidateRule": Counter({"ValidatePullThroughCacheRule": 1}),
        "ApplyTemplate": Counter({"DescribeRepositoryCreationTemplates": 1}),
    },
}
ROLLBACK_FAILURE = "Authentication failed: the upstream registry refused the credentials (benchmark)"


@dataclass
class Scenario:
    """One rollout and the calls its handlers made."""

    name: str
    run: RolloutRun
    events: list[dict[str, Any]]  # the execution history
    integrations: dict[str, int]  # per region: the state machine's own DynamoDB tasks

    @property
    def regions(self) -> list[str]:
        return self.run.regions

    def region_calls(self, region: str) -> Counter[tuple[str, str]]:
        """(step, operation) -> calls, in one region."""
        return Counter(
            (self._step(call.function), call.operation) for call in self.run.calls if call.task_region == region
        )

    def _step(self, function: str | None) -> str:
        for step, logical_id in {
            **STEPS,
            "SnapshotRegion": "SnapshotRegionFunction",
            "Rollback": "RollbackFunction",
        }.items():
            if function and function.endswith(logical_id):
                return step
        return function or "?"

    def per_region(self) -> dict[str, Counter[tuple[str, str]]]:
        return {region: self.region_calls(region) for region in self.regions}

    def totals(self) -> dict[str, tuple[int, int]]:
        """Region -> (calls, writes)."""
        return {
            region: (sum(calls.values()), sum(n for (_, op), n in calls.items() if changes_resources(op)))
            for region, calls in self.per_region().items()
        }

    def shared(self) -> Counter[str]:
        """Calls made outside any region's iteration (FinishRollout), by service:operation."""
        return Counter(f"{call.service}:{call.operation}" for call in self.run.calls if call.task_region is None)

    def max_writes(self) -> int:
        return max((writes for _, writes in self.totals().values()), default=0)

    def extra(self) -> dict[str, Counter[tuple[str, str]]]:
        """Per region: calls beyond NEEDED[name] (empty when there is no such list)."""
        needed = NEEDED.get(self.name)
        if needed is None:
            return {}
        want = Counter({(step, op): n for step, ops in needed.items() for op, n in ops.items()})
        return {region: calls - want for region, calls in self.per_region().items()}


@dataclass
class CallsResult:
    scenarios: dict[str, Scenario]
    failed_region: str

    @property
    def unchanged_writes(self) -> int:
        return self.scenarios["unchanged"].max_writes()

    @property
    def fresh_extra(self) -> int:
        """The most calls any region made beyond what the fresh rollout's steps need."""
        return max((sum(extra.values()) for extra in self.scenarios["fresh"].extra().values()), default=0)

    @property
    def fresh_needed(self) -> int:
        return sum(sum(ops.values()) for ops in NEEDED["fresh"].values())


def _integrations(events: list[dict[str, Any]], run: RolloutRun) -> dict[str, int]:
    owner = history.iterations(events)
    found: Counter[str] = Counter()
    for event in events:
        details = event.get("taskScheduledEventDetails")
        key = owner.get(event["id"])
        if event["type"] == "TaskScheduled" and details and details.get("resourceType") == "dynamodb" and key:
            found[run.regions[key[1]]] += 1
    return {region: found[region] for region in run.regions}


def _scenario(bench: Bench, name: str, run: RolloutRun, expect: str) -> Scenario:
    if run.outcome != expect:
        raise BenchError(f"the {name} rollout ended {run.outcome}, not {expect}")
    events = bench.history(run.execution_arn)
    return Scenario(name, run, events, _integrations(events, run))


def measure(bench: Bench) -> CallsResult:
    """The four scenarios, without emulator latency (counts do not depend on it)."""
    regions = bench.settings.regions(bench.settings.calls_regions)
    scenarios: dict[str, Scenario] = {}
    with bench.latency(0):
        prefix = bench.prefix("calls")
        source = bench.source_secret(prefix)
        scenarios["fresh"] = _scenario(bench, "fresh", bench.rollout(prefix, regions, source), "SUCCEEDED")
        scenarios["unchanged"] = _scenario(bench, "unchanged", bench.rollout(prefix, regions, source), "SUCCEEDED")
        bench.source_secret(prefix, token=f"rotated-{uuid.uuid4().hex}")
        changed = bench.rollout(prefix, regions, source)
        scenarios["credential change"] = _scenario(bench, "credential change", changed, "SUCCEEDED")
        bench.cleanup(prefix, regions)

        failing = bench.prefix("rollback")
        source = bench.source_secret(failing)
        ecr_extension.fail_validation(failing, ROLLBACK_FAILURE, region=regions[-1])
        try:
            run = bench.rollout(failing, regions, source)
        finally:
            ecr_extension.clear()
        scenarios["rollback"] = _scenario(bench, "rollback", run, "ROLLED_BACK")
        bench.cleanup(failing, regions)
    return CallsResult(scenarios, failed_region=regions[-1])
