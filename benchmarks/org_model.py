"""Organization scale, modeled: a rollout to 1,000 accounts x 17 regions on AWS, beside the same change through
CloudFormation StackSets, and what each costs.

    python -m benchmarks.org_model [--out DIR]

Nothing here is measured on AWS. The inputs are named constants below: the per-target figures measured on the
embedded stack (REPORT.md's sections 1, 3 and 6; update them when those sections change) and AWS's documented
quotas and prices, each with the page it comes from. The model is a throughput bound: a rollout of N targets takes
the time its slowest resource needs for all N (Lambda concurrency in the home region, Step Functions state
transitions, the concurrency the rollout allows times the per-target chain), plus one chain to fill the pipeline.
StackSets: stack instances one after another at the concurrency its documented model gives.

``make bench`` writes the section into REPORT.md between markers (as ``make bench-accounts`` does its own); run
alone, this module rewrites only that section.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path

from benchmarks.sections import put_block
from benchmarks.settings import DEFAULT_OUT

BEGIN = "<!-- org-model:begin (python -m benchmarks.org_model) -->"
END = "<!-- org-model:end -->"

ACCOUNTS = 1_000
REGIONS = 17  # the aws partition's regions the 200-account run used (REPORT.md section 6)

# -- measured on the embedded stack (REPORT.md, the report of 2026-11-30) -------------------------------------------
# Section 1: a one-region rollout under the latency model (af-south-1, 193 ms round trip from us-east-1): its chain of
# 7 Task states (SnapshotRegion, StoreSecret, CreateRule, ValidateRule, ApplyTemplate, RecordRegion, FinishRollout).
CHAIN_SECONDS = 1.81
# Section 1's step table: the Lambda steps' durations on that chain (242 + 423 + 421 + 224 + 424 ms; FinishRollout's
# 72 ms is shared by every target of the rollout and left out): what Lambda bills and holds a concurrent execution for.
LAMBDA_SECONDS_PER_TARGET = 1.734
# A child execution (one account) starts with AccountTargets, a home-region Task state (statemachine/rollout.asl.json):
# priced like the home-region FinishRollout step of section 1.
ACCOUNT_TASK_SECONDS = 0.072
# Section 3: state transitions of a region's Map iteration, and the rollout's shared ones (spread over its targets).
TRANSITIONS_PER_ITERATION = 9
TRANSITIONS_SHARED = 8
# statemachine/rollout.asl.json: a child execution's own states around its regions' Map (AccountTargets,
# RolloutAccountRegions, AccountDone).
TRANSITIONS_PER_ACCOUNT = 3
# Section 3: Lambda invocations of a region's iteration (5) and per rollout (FinishRollout, 1).
INVOCATIONS_PER_TARGET = 5
INVOCATIONS_SHARED = 1
# Section 6: the 200-account x 17-region run on the emulator, 639 s for 3,400 targets. One Python process serves
# every AWS call and runs every step there, so this is the emulator's throughput: the model's pessimistic case.
EMULATOR_SECONDS_PER_TARGET = 0.188
# layers/common/pullthrough/rollout_options.py: accounts at once by default (each a child execution whose regions
# all run at once).
DEFAULT_ACCOUNT_CONCURRENCY = 20
# template.yaml: every function's MemorySize (MB) and architecture.
LAMBDA_MEMORY_MB = 256

# -- AWS's documented quotas ----------------------------------------------------------------------------------------
SFN_QUOTAS_URL = "https://docs.aws.amazon.com/step-functions/latest/dg/limits-overview.html"
# StateTransition, Standard workflows: bucket size and refill per second, in us-east-1, us-west-2 and eu-west-1 ...
TRANSITION_BUCKET_LARGE_REGIONS = 5_000
TRANSITION_REFILL_LARGE_REGIONS = 1_500
# ... and in every other region. New accounts start lower (AWS raises them with use): the same page.
TRANSITION_BUCKET_OTHER_REGIONS = 800
TRANSITION_REFILL_OTHER_REGIONS = 500
DISTRIBUTED_MAP_URL = "https://docs.amazonaws.cn/step-functions/latest/dg/state-map-distributed.md"
DISTRIBUTED_MAP_CHILDREN = 10_000  # child workflow executions in parallel when MaxConcurrency is not set
INLINE_MAP_URL = "https://docs.aws.amazon.com/he_il/step-functions/latest/dg/state-map.md"
INLINE_MAP_ITERATIONS = 40  # an inline Map's concurrent iterations (an account's regions)
LAMBDA_CONCURRENCY_URL = (
    "https://serverlessland.com/content/service/lambda/guides/aws-lambda-operator-guide/scaling-concurrency"
)
LAMBDA_CONCURRENCY = (
    1_000  # concurrent executions per account and region by default (every step runs in the home region)
)
LAMBDA_SCALING_URL = "https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html"
LAMBDA_SCALING_PER_10S = 1_000  # new execution environments per function every 10 seconds
STS_THROTTLING_URL = "https://repost.aws/knowledge-center/iam-sts-throttling-error"
# STS: rate limits per account that cannot be raised; no number is published. Each step assumes the target account's
# role once per warm sandbox and account (layers/common/pullthrough/aws.py caches the credentials), so at worst once
# per Lambda step of a target.
ASSUME_ROLE_PER_TARGET_WORST = INVOCATIONS_PER_TARGET
SECRETS_QUOTAS_URL = "https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_limits.html"
SECRETS_GET_VALUE_PER_SECOND = 10_000  # GetSecretValue per account and region (the home region's source secret)
SECRETS_WRITE_PER_SECOND = 50  # PutSecretValue/UpdateSecret combined, per account and region (a target's own)
ECR_QUOTAS_URL = "https://docs.aws.amazon.com/AmazonECR/latest/userguide/service-quotas.html"
# ECR publishes request-rate quotas for registry authentication, image push and pull only; the pull-through cache and
# creation-template APIs have none published. Like Secrets Manager's, they count per account and region: a target.

# -- StackSets ------------------------------------------------------------------------------------------------------
STACKSETS_PREFERENCES_URL = (
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackSetOperationPreferences.html"
)
STACKSETS_OPTIONS_URL = "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-concepts.html"
# A stack instance's create time for a secret + a pull-through cache rule + a creation template. NOT measured (no AWS
# account here) and not documented by AWS: an assumption. The section prints the break-even instance time below which
# the 10x target would fail, so the verdict can be checked against any measured figure.
STACK_INSTANCE_SECONDS = 30.0

# -- prices (us-east-1, free tiers ignored) -------------------------------------------------------------------------
SFN_PRICING_URL = "https://aws.amazon.com/step-functions/pricing/"
SFN_PRICE_PER_1000_TRANSITIONS = 0.025  # Standard workflows
LAMBDA_PRICING_URL = "https://aws.amazon.com/lambda/pricing/"
LAMBDA_PRICE_PER_GB_SECOND_ARM64 = 0.0000133334
LAMBDA_PRICE_PER_MILLION_REQUESTS = 0.20
CLOUDFORMATION_PRICING_URL = "https://aws.amazon.com/cloudformation/pricing/"
# CloudFormation charges handler operations for third-party resource types only: AWS::* resources (the secret, the
# rule, the template) cost nothing beyond the resources themselves.
STACKSETS_PRICE_PER_INSTANCE = 0.0

TARGET_SPEEDUP = 10.0  # StackSets / pullthrough at equal failure tolerance


@dataclass(frozen=True)
class Pullthrough:
    """One scenario of a pullthrough rollout on AWS."""

    label: str
    account_concurrency: int = DEFAULT_ACCOUNT_CONCURRENCY
    transition_bucket: int = TRANSITION_BUCKET_LARGE_REGIONS
    transition_refill: int = TRANSITION_REFILL_LARGE_REGIONS
    lambda_concurrency: int = LAMBDA_CONCURRENCY
    chain_seconds: float = CHAIN_SECONDS + ACCOUNT_TASK_SECONDS
    serial_seconds_per_target: float = 0.0  # > 0: every target one after another at this cost (the emulator's case)


@dataclass(frozen=True)
class Bound:
    """What one resource allows: seconds for every target, and its rate."""

    name: str
    seconds: float
    rate: str


@dataclass(frozen=True)
class Outcome:
    scenario: Pullthrough
    bounds: list[Bound]

    @property
    def binding(self) -> Bound:
        return max(self.bounds, key=lambda bound: bound.seconds)

    @property
    def seconds(self) -> float:
        """The slowest resource's time for every target, plus one chain to fill the pipeline."""
        return self.binding.seconds + self.scenario.chain_seconds


def targets(accounts: int = ACCOUNTS, regions: int = REGIONS) -> int:
    return accounts * regions


def transitions_per_target(regions: int = REGIONS, accounts: int = ACCOUNTS) -> float:
    """A region's iteration, its share of its account's child execution and of the rollout's shared states."""
    return TRANSITIONS_PER_ITERATION + TRANSITIONS_PER_ACCOUNT / regions + TRANSITIONS_SHARED / (regions * accounts)


def invocations_per_target(regions: int = REGIONS, accounts: int = ACCOUNTS) -> float:
    return INVOCATIONS_PER_TARGET + INVOCATIONS_SHARED / (regions * accounts)


def pullthrough(scenario: Pullthrough, accounts: int = ACCOUNTS, regions: int = REGIONS) -> Outcome:
    """The time each resource needs for every target of the rollout; the slowest one binds."""
    n = targets(accounts, regions)
    if scenario.serial_seconds_per_target:
        return Outcome(
            scenario,
            [Bound("emulator throughput", n * scenario.serial_seconds_per_target, "one target at a time")],
        )
    in_flight = min(scenario.account_concurrency, DISTRIBUTED_MAP_CHILDREN, accounts) * min(
        regions, INLINE_MAP_ITERATIONS
    )
    transitions = n * transitions_per_target(regions, accounts)
    return Outcome(
        scenario,
        [
            Bound(
                f"chain x concurrency ({in_flight:,} targets in flight)",
                n * scenario.chain_seconds / in_flight,
                f"{in_flight / scenario.chain_seconds:,.0f} targets/s",
            ),
            Bound(
                f"Lambda concurrency ({scenario.lambda_concurrency:,})",
                n * LAMBDA_SECONDS_PER_TARGET / scenario.lambda_concurrency,
                f"{scenario.lambda_concurrency / LAMBDA_SECONDS_PER_TARGET:,.0f} targets/s",
            ),
            Bound(
                f"state transitions ({scenario.transition_bucket:,} burst, {scenario.transition_refill:,}/s)",
                max(0.0, transitions - scenario.transition_bucket) / scenario.transition_refill,
                f"{scenario.transition_refill / transitions_per_target(regions, accounts):,.0f} targets/s",
            ),
        ],
    )


def stacksets(
    instance_seconds: float = STACK_INSTANCE_SECONDS,
    *,
    accounts: int = ACCOUNTS,
    regions: int = REGIONS,
    failure_tolerance: int = 0,
    max_concurrent: int = ACCOUNTS,
    parallel_regions: bool = False,
) -> float:
    """A StackSets create: with STRICT_FAILURE_TOLERANCE (the default ConcurrencyMode) min(MaxConcurrentCount,
    FailureToleranceCount + 1) accounts at once per region; regions one after another (SEQUENTIAL, the default)
    or all at once (PARALLEL)."""
    at_once = max(1, min(max_concurrent, failure_tolerance + 1, accounts))
    per_region = math.ceil(accounts / at_once) * instance_seconds
    return per_region if parallel_regions else per_region * regions


def break_even_instance_seconds(ours: float, *, parallel_regions: bool, accounts: int = ACCOUNTS) -> float:
    """The stack instance time at which StackSets (tolerance 0) is exactly TARGET_SPEEDUP x slower than ``ours``."""
    return TARGET_SPEEDUP * ours / stacksets(1.0, accounts=accounts, parallel_regions=parallel_regions)


@dataclass(frozen=True)
class Cost:
    transitions: float
    invocations: float
    gb_seconds: float

    @property
    def step_functions(self) -> float:
        return self.transitions / 1000 * SFN_PRICE_PER_1000_TRANSITIONS

    @property
    def lambda_requests(self) -> float:
        return self.invocations / 1e6 * LAMBDA_PRICE_PER_MILLION_REQUESTS

    @property
    def lambda_compute(self) -> float:
        return self.gb_seconds * LAMBDA_PRICE_PER_GB_SECOND_ARM64

    @property
    def total(self) -> float:
        return self.step_functions + self.lambda_requests + self.lambda_compute


def cost(accounts: int = ACCOUNTS, regions: int = REGIONS) -> Cost:
    n = targets(accounts, regions)
    return Cost(
        transitions=n * transitions_per_target(regions, accounts),
        invocations=n * invocations_per_target(regions, accounts),
        gb_seconds=n * LAMBDA_SECONDS_PER_TARGET * LAMBDA_MEMORY_MB / 1024,
    )


SCENARIOS = [
    Pullthrough("app defaults (20 accounts at once), home us-east-1"),
    Pullthrough(
        "58 accounts at once (986 steps: Lambda's 1,000), home us-east-1",
        account_concurrency=LAMBDA_CONCURRENCY // REGIONS,
    ),
    Pullthrough(
        "app defaults, home in another region (800 burst, 500/s)",
        transition_bucket=TRANSITION_BUCKET_OTHER_REGIONS,
        transition_refill=TRANSITION_REFILL_OTHER_REGIONS,
    ),
    Pullthrough(
        "pessimistic: the emulator's measured 188 ms per target, one after another",
        serial_seconds_per_target=EMULATOR_SECONDS_PER_TARGET,
    ),
]


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:,.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:,.1f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:,.1f} h"
    return f"{seconds / 86400:,.1f} days"


def section() -> list[str]:
    """REPORT.md's Organization-scale section, between its markers."""
    n = targets()
    outcomes = [pullthrough(scenario) for scenario in SCENARIOS]
    sequential = stacksets()
    parallel = stacksets(parallel_regions=True)
    worst = max(outcome.seconds for outcome in outcomes[:3])  # on AWS (the emulator's case apart)
    met_sequential = sequential / worst >= TARGET_SPEEDUP
    met_parallel = parallel / worst >= TARGET_SPEEDUP
    priced = cost()
    rows = []
    for outcome in outcomes:
        bounds = "; ".join(f"{b.name}: {_duration(b.seconds)} ({b.rate})" for b in outcome.bounds)
        rows.append(
            f"| {outcome.scenario.label} | {bounds} | **{_duration(outcome.seconds)}** | "
            f"{sequential / outcome.seconds:,.0f}x | {parallel / outcome.seconds:,.0f}x |"
        )
    peak_rate = max(
        min(
            scenario.transition_refill / transitions_per_target(),
            scenario.lambda_concurrency / LAMBDA_SECONDS_PER_TARGET,
        )
        for scenario in SCENARIOS[:3]
    )
    return [
        BEGIN,
        f"## 7. Organization scale (model): {ACCOUNTS:,} accounts x {REGIONS} regions",
        "",
        f"A fresh rule to {ACCOUNTS:,} accounts x {REGIONS} regions = {n:,} targets, **modeled, not measured on "
        "AWS**, from the per-target figures measured above and AWS's documented quotas (benchmarks/org_model.py: "
        "every input a named constant with its source; `python -m benchmarks.org_model` rewrites this section). "
        "Each resource the rollout shares bounds its throughput; the slowest one, plus one chain to fill the "
        "pipeline, is the wall time. Every step runs in the home region (Lambda, Step Functions); a target's own "
        "ECR and Secrets Manager calls count against that target's account and region.",
        "",
        "Per target, measured: the chain of 7 Task states took "
        f"{CHAIN_SECONDS} s for one region under the latency model (section 1), plus {ACCOUNT_TASK_SECONDS * 1000:.0f} "
        "ms for the child execution's AccountTargets; its Lambda steps ran "
        f"{LAMBDA_SECONDS_PER_TARGET:.2f} s; {transitions_per_target():.2f} state transitions "
        f"({TRANSITIONS_PER_ITERATION} in the region's iteration, section 3, + {TRANSITIONS_PER_ACCOUNT}/{REGIONS} "
        f"of its account's child execution) and {invocations_per_target():.2f} Lambda invocations (section 3); the "
        f"200-account run on the emulator, {EMULATOR_SECONDS_PER_TARGET * 1000:.0f} ms per target (section 6).",
        "",
        "| pullthrough scenario | time each shared resource needs for every target | modeled wall time | "
        "StackSets SEQUENTIAL / ours | StackSets PARALLEL / ours |",
        "|---|---|---:|---:|---:|",
        *rows,
        "",
        f"What binds on AWS: {', '.join(sorted({o.binding.name.split(' (')[0] for o in outcomes[:3]}))}. More accounts at "
        "once do not help past that: each target costs its state transitions wherever it runs. Fewer Task and Pass "
        "states per region (section 1's orchestration) cut it in proportion; an EXPRESS child workflow has no "
        "state-transition quota (same page) but a 5-minute limit and no execution history to resume from.",
        "",
        "Quotas used (the account's defaults):",
        "",
        f"- Step Functions `StateTransition`, Standard: bucket {TRANSITION_BUCKET_LARGE_REGIONS:,} and "
        f"{TRANSITION_REFILL_LARGE_REGIONS:,}/s in us-east-1, us-west-2, eu-west-1; "
        f"{TRANSITION_BUCKET_OTHER_REGIONS:,} and {TRANSITION_REFILL_OTHER_REGIONS:,}/s elsewhere; new accounts "
        f"start lower ({SFN_QUOTAS_URL}). Distributed Map: {DISTRIBUTED_MAP_CHILDREN:,} child executions at once "
        f"unless MaxConcurrency says fewer ({DISTRIBUTED_MAP_URL}); an inline Map (an account's regions) "
        f"{INLINE_MAP_ITERATIONS} iterations ({INLINE_MAP_URL}).",
        f"- Lambda: {LAMBDA_CONCURRENCY:,} concurrent executions per region by default ({LAMBDA_CONCURRENCY_URL}), "
        f"each function scaling by {LAMBDA_SCALING_PER_10S:,} environments every 10 s ({LAMBDA_SCALING_URL}): the "
        "defaults' 340 steps at once start within the first 10 s.",
        f"- STS AssumeRole: throttled per account, no published number, not raisable ({STS_THROTTLING_URL}). At "
        f"worst {ASSUME_ROLE_PER_TARGET_WORST} calls per target (one per Lambda step; a warm sandbox reuses an "
        f"account's credentials), so at the fastest modeled rate ({peak_rate:,.0f} targets/s) up to "
        f"{peak_rate * ASSUME_ROLE_PER_TARGET_WORST:,.0f} AssumeRole/s from the home account: the one input the "
        "model cannot check against a documented quota (the throttling retries of issue 20 absorb bursts).",
        f"- Secrets Manager ({SECRETS_QUOTAS_URL}): GetSecretValue {SECRETS_GET_VALUE_PER_SECOND:,}/s per account "
        f"and region: the home region's source secret is read once per target, at most {peak_rate:,.0f}/s; writes "
        f"(PutSecretValue, UpdateSecret...) {SECRETS_WRITE_PER_SECOND}/s per account and region; a target makes one write "
        "(CreateSecret) and two reads in its own account and region. "
        f"ECR publishes request-rate quotas for authentication, push and pull only ({ECR_QUOTAS_URL}); a target makes "
        "its 7 ECR calls (section 2) in its own account and region. Neither binds.",
        "",
        "**StackSets**, the same change as a stack set of a secret, a rule and a template "
        f"({STACKSETS_PREFERENCES_URL}; {STACKSETS_OPTIONS_URL}): with STRICT_FAILURE_TOLERANCE, the default "
        "ConcurrencyMode, the actual concurrency is min(MaxConcurrentCount, FailureToleranceCount + 1): at a "
        "failure tolerance of 0 (pullthrough's default: all or nothing) one account at a time per region. Regions "
        f"run SEQUENTIAL by default ({_duration(sequential)} at {STACK_INSTANCE_SECONDS:.0f} s a stack instance) or "
        f"PARALLEL ({_duration(parallel)}). The {STACK_INSTANCE_SECONDS:.0f} s per stack instance is an "
        "**assumption**, neither measured (no AWS account here) nor documented; the verdict does not hang on it: "
        "the 10x target fails only below a stack instance time of "
        f"{break_even_instance_seconds(worst, parallel_regions=False):.2f} s (SEQUENTIAL) or "
        f"{break_even_instance_seconds(worst, parallel_regions=True):.2f} s (PARALLEL), against the slowest AWS "
        f"scenario above ({_duration(worst)}).",
        "",
        f"**Target: 10x faster than StackSets at equal failure tolerance (0).** SEQUENTIAL: "
        f"{'met' if met_sequential else '**not met**'} ({sequential / worst:,.0f}x at worst); PARALLEL: "
        f"{'met' if met_parallel else '**not met**'} ({parallel / worst:,.0f}x at worst). Assumptions: the account's "
        "default quotas (a new account's lower state-transition quota slows ours until AWS raises it); each "
        "target's chain on AWS as fast as measured under the latency model (real round trips from the home region "
        "are of that order; throttling retries would add to it); no failures. Not at equal tolerance: StackSets with "
        "SOFT_FAILURE_TOLERANCE and MaxConcurrentPercentage 100 runs every account of a region at once and would "
        "come near ours, but keeps going past failures where pullthrough stops and rolls every target back. Even "
        "the pessimistic case, every target one after another at the emulator's measured cost "
        f"({_duration(outcomes[3].seconds)}), is {sequential / outcomes[3].seconds:,.0f}x faster than SEQUENTIAL "
        f"and {parallel / outcomes[3].seconds:,.1f}x than PARALLEL.",
        "",
        "**Cost** of the rollout (us-east-1 list prices, free tiers ignored):",
        "",
        "| item | quantity | price | cost |",
        "|---|---:|---|---:|",
        f"| Step Functions Standard state transitions | {priced.transitions:,.0f} | "
        f"${SFN_PRICE_PER_1000_TRANSITIONS} per 1,000 ({SFN_PRICING_URL}) | ${priced.step_functions:,.2f} |",
        f"| Lambda requests | {priced.invocations:,.0f} | ${LAMBDA_PRICE_PER_MILLION_REQUESTS:.2f} per million "
        f"({LAMBDA_PRICING_URL}) | ${priced.lambda_requests:,.2f} |",
        f"| Lambda compute, arm64, {LAMBDA_MEMORY_MB} MB | {priced.gb_seconds:,.0f} GB-s | "
        f"${LAMBDA_PRICE_PER_GB_SECOND_ARM64:.10f}".rstrip("0")
        + f" per GB-s | ${priced.lambda_compute:,.2f} |",
        f"| **pullthrough, total** | {n:,} targets | | **${priced.total:,.2f}** "
        f"(${priced.total / n * 1000:,.3f} per 1,000 targets) |",
        f"| StackSets | {n:,} stack instances | AWS::* resource types: no CloudFormation charge "
        f"({CLOUDFORMATION_PRICING_URL}) | ${STACKSETS_PRICE_PER_INSTANCE * n:,.2f} |",
        "",
        "Not counted on either side: the resources themselves (secrets, $0.40 a month each, alike for both), "
        "DynamoDB on-demand requests and EventBridge events (a few per target, cents at this size), CloudWatch logs.",
        "",
        END,
    ]


def write_section(path: Path, lines: list[str] | None = None) -> Path:
    """Put the section into REPORT.md, replacing the previous one, else before "## How it was measured"."""
    return put_block(path, lines or section(), begin=BEGIN, end=END, before="## How it was measured")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.org_model", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where REPORT.md is (default: benchmarks/)")
    args = parser.parse_args(argv)
    path = write_section(args.out / "REPORT.md")
    print(f"wrote the Organization-scale section of {path}")
    for outcome in (pullthrough(scenario) for scenario in SCENARIOS):
        print(f"  {outcome.scenario.label}: {_duration(outcome.seconds)} ({outcome.binding.name} binds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
