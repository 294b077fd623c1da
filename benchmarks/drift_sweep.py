"""5. What a drift sweep costs: API calls per region with 1, 10 and 50 rules in every region.

For each rule count the regions are emptied, then every rule is put in place as a finished rollout leaves it (the
region's secret, the rule pointing at it, the creation template, the home-region source secret, and the desired
rule in the table, marked as rolled out, with the secret versions it deployed and copied), and DriftSweepFunction is
invoked with ``{"mode": "report"}``. Every rule is in sync, so the sweep only reads the regions. Calls are counted by
the region they went to; the home region's table and event calls are bookkeeping per rule, listed apart.

The timed sweep is the first after the rules' rollouts: each rule's report is new, so every one is written (the
sweep's most bookkeeping). It is repeated (each repetition a first sweep again: the recorded reports are removed
between them) and the median taken, with this process's CPU time meanwhile (emulator, engine and handler share it).
A last sweep finds every report unchanged and writes none: its time is shown apart.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from benchmarks.driver import SECRET_PREFIX, SOURCE_PREFIX, Bench
from benchmarks.settings import HOME_REGION
from benchmarks.stats import median
from benchmarks.wall_time import BenchError

TARGET_CALLS_PER_REGION = 3  # at 50 rules, and constant in the number of rules
TARGET_TIME_RATIO = 1.5  # sweep time at 50 rules / at 1 rule
REGIONAL_SERVICES = ("ecr", "secretsmanager")


@dataclass
class SweepPoint:
    rules: int
    regions: list[str]
    per_region: dict[str, Counter[str]]  # target region -> operation -> calls (ECR and Secrets Manager)
    source_region: Counter[str]  # calls to the source secrets' (home) region's Secrets Manager
    bookkeeping: Counter[str]  # home-region table and event calls, service:operation
    runs: list[float]  # seconds per first sweep (every report new)
    cpu: list[float]  # this process's CPU seconds during each of them
    drifted: list[str]
    unchanged_seconds: float = math.nan  # a sweep that finds every report as recorded (writes none)

    @property
    def seconds(self) -> float:
        """The median first sweep."""
        return median(self.runs)

    @property
    def max_per_region(self) -> int:
        return max((sum(ops.values()) for ops in self.per_region.values()), default=0)


@dataclass
class DriftResult:
    latency_ms: float
    points: list[SweepPoint]

    @property
    def constant(self) -> bool:
        return len({point.max_per_region for point in self.points}) == 1

    @property
    def met(self) -> bool:
        return self.constant and all(p.max_per_region <= TARGET_CALLS_PER_REGION for p in self.points)

    @property
    def time_met(self) -> bool:
        """The sweep's time at the most rules within TARGET_TIME_RATIO of its time at the fewest."""
        first, last = self.points[0], self.points[-1]
        return last.seconds <= TARGET_TIME_RATIO * first.seconds


def _put_in_place(bench: Bench, rules: int, regions: list[str]) -> None:
    """``rules`` rules in every region, each as a successful rollout leaves it, and their desired records."""
    from pullthrough.adapters.store import RolloutStore

    store = RolloutStore(bench.stack.client("dynamodb"), bench.stack.environment["TABLE_NAME"])
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() - 60))
    finished = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() - 30))
    for index in range(rules):
        prefix = f"drift{rules}-{index}"
        source = bench.source_secret(prefix)
        request = bench.request(prefix, regions, source)
        template = request.template()
        rule = request.rule().model_dump(exclude_none=True)
        created = template.to_ecr() if template else None
        value = json.dumps({"username": "bench", "accessToken": f"token-{uuid.uuid4().hex}"})
        rollout_id = f"r-drift{uuid.uuid4().hex[:12]}"
        deployed = {}
        for region in regions:
            sm, ecr = bench.stack.client("secretsmanager", region), bench.stack.client("ecr", region)
            made = sm.create_secret(Name=SECRET_PREFIX + prefix, SecretString=value)
            ecr.create_pull_through_cache_rule(**rule, credentialArn=made["ARN"])
            if created is not None:
                ecr.create_repository_creation_template(prefix=prefix, **created, appliedFor=["PULL_THROUGH_CACHE"])
            deployed[region] = {"secretArn": made["ARN"], "secretVersionId": made["VersionId"], "rolloutId": rollout_id}
        home = bench.stack.client("secretsmanager", HOME_REGION).describe_secret(SecretId=source)
        source_version = next(v for v, stages in home["VersionIdsToStages"].items() if "AWSCURRENT" in stages)
        store.put_rule(
            prefix,
            {
                "rule": rule,
                "regions": regions,
                "creationTemplate": created,
                "sourceSecretArn": source,
                "sourceSecretVersionId": source_version,
                "deployed": deployed,
                "lastRolloutId": rollout_id,
                "updatedAt": stamp,
                "lastRolloutAt": finished,
                "lastRolloutStatus": "SUCCEEDED",
            },
        )


def _purge(bench: Bench, regions: list[str]) -> None:
    bench.delete_desired()
    for region in {*regions, HOME_REGION}:
        bench.purge_region(region)
    sm = bench.stack.client("secretsmanager", HOME_REGION)
    with bench.latency(0):
        pages = sm.get_paginator("list_secrets").paginate(Filters=[{"Key": "name", "Values": [SOURCE_PREFIX]}])
        for secret in [s for page in pages for s in page.get("SecretList", [])]:
            sm.delete_secret(SecretId=secret["ARN"], ForceDeleteWithoutRecovery=True)


def _forget_reports(bench: Bench) -> None:
    """Remove every desired rule's recorded report, so the next sweep is a first one again."""
    ddb, table = bench.stack.client("dynamodb"), bench.stack.environment["TABLE_NAME"]
    with bench.latency(0):
        pages = ddb.get_paginator("query").paginate(
            TableName=table, KeyConditionExpression="pk = :rules", ExpressionAttributeValues={":rules": {"S": "RULES"}}
        )
        for item in [item for page in pages for item in page["Items"]]:
            ddb.update_item(TableName=table, Key={"pk": item["pk"], "sk": item["sk"]}, UpdateExpression=_FORGET)


_FORGET = "REMOVE drift, driftCheckedAt"


def _timed_sweep(bench: Bench) -> tuple[dict[str, Any], float, float]:
    """One sweep at the bench's latency: its summary, wall seconds and this process's CPU seconds."""
    with bench.latency(bench.settings.latency_ms):
        started, cpu = time.perf_counter(), time.process_time()
        summary, errored = bench.stack.invoke("DriftSweepFunction", {"mode": "report"})
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    if errored or not isinstance(summary, dict):
        raise BenchError(f"the drift sweep failed: {summary}")
    return summary, seconds, cpu


def _sweep(bench: Bench, rules: int, regions: list[str]) -> SweepPoint:
    """``repeats`` first sweeps (calls counted on the first), then one that finds every report unchanged."""
    mark = bench.counters.mark()
    summary, seconds, cpu = _timed_sweep(bench)
    calls, _ = bench.counters.since(mark)
    runs, cpus = [seconds], [cpu]
    for _ in range(1, bench.settings.repeats):
        _forget_reports(bench)
        _, seconds, cpu = _timed_sweep(bench)
        runs.append(seconds)
        cpus.append(cpu)
    per_region: dict[str, Counter[str]] = {region: Counter() for region in regions}
    source_region: Counter[str] = Counter()
    bookkeeping: Counter[str] = Counter()
    for call in calls:
        if call.operation == "ValidatePullThroughCacheRule":  # health: one per rule and target, by ECR's API
            bookkeeping[f"{call.service}:{call.operation}"] += 1
        elif call.service in REGIONAL_SERVICES and call.region in per_region:
            per_region[call.region][call.operation] += 1
        elif call.service in REGIONAL_SERVICES:
            source_region[call.operation] += 1
        else:
            bookkeeping[f"{call.service}:{call.operation}"] += 1
    _, unchanged, _ = _timed_sweep(bench)
    drifted = list(summary["drifted"])
    return SweepPoint(rules, regions, per_region, source_region, bookkeeping, runs, cpus, drifted, unchanged)


def measure(bench: Bench) -> DriftResult:
    """One point per rule count, each on freshly emptied regions; the regions are left empty. A first, unmeasured
    sweep (of no rules) makes the function warm, as every measured rollout's functions are."""
    regions = [r for r in bench.settings.all_regions if r != HOME_REGION][: bench.settings.drift_regions]
    _purge(bench, regions)
    _timed_sweep(bench)
    points = []
    for rules in bench.settings.drift_rule_counts:
        _purge(bench, regions)
        with bench.latency(0):
            _put_in_place(bench, rules, regions)
        point = _sweep(bench, rules, regions)
        if point.drifted:
            raise BenchError(f"the sweep found drift in rules that are in sync: {point.drifted[:5]}")
        points.append(point)
    _purge(bench, regions)
    return DriftResult(bench.settings.latency_ms, points)


def describe_calls(ops: Counter[str] | dict[str, Any]) -> str:
    """'DescribePullThroughCacheRules 1, ListSecrets 1' (sorted by name)."""
    return ", ".join(f"{op} {n}" for op, n in sorted(ops.items())) or "none"
