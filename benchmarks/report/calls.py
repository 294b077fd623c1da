"""Sections 2 and 3: API calls per region by step and operation; state transitions and Lambda invocations."""

from __future__ import annotations

from collections import Counter

from benchmarks import plots
from benchmarks.api_calls import BEYOND_WHY, NEEDED, REQUIREMENTS, CallsResult, Scenario
from benchmarks.report.markdown import ops, table
from benchmarks.report.results import Results
from benchmarks.stats import median
from benchmarks.transitions import PRICE_PER_1000_TRANSITIONS


def _by_step(scenario: Scenario, region: str) -> dict[str, Counter[str]]:
    steps: dict[str, Counter[str]] = {}
    for (step, op), n in scenario.region_calls(region).items():
        steps.setdefault(step, Counter())[op] += n
    return steps


def section(results: Results) -> list[str]:
    calls = results.calls
    regions = next(iter(calls.scenarios.values())).regions
    lines = [
        "## 2. AWS API calls per region",
        "",
        f"A rollout to {len(regions)} regions ({', '.join(regions)}); then the same rollout again unchanged; then "
        "again after the source secret got a new value; then a new rule whose validation fails in "
        f"{calls.failed_region} (`ecr_extension.fail_validation`), which rolls every region back. Calls are the "
        "handlers' own (a botocore `before-call` hook on every client `pullthrough.aws.client` makes), attributed to "
        "the Map iteration's region; a write is any operation that is not Describe/Get/List/Validate/Query/Scan and that changes a managed resource (ECR, Secrets Manager): the snapshot's PutItem in the app's own table is bookkeeping, listed but not counted as a write.",
        "",
    ]
    rows = []
    for name, scenario in calls.scenarios.items():
        totals = scenario.totals()
        counts = sorted(t[0] for t in totals.values())
        writes = sorted(t[1] for t in totals.values())
        rows.append(
            (
                name,
                scenario.run.outcome,
                counts[0] if counts[0] == counts[-1] else f"{counts[0]}-{counts[-1]}",
                writes[0] if writes[0] == writes[-1] else f"{writes[0]}-{writes[-1]}",
                median(scenario.integrations.values()),
                ops(scenario.shared()),
            )
        )
    lines += table(
        [
            "scenario",
            "outcome",
            "calls / region",
            "writes / region",
            "state machine DynamoDB tasks / region",
            "per rollout, home region (FinishRollout)",
        ],
        rows,
    )
    fresh = calls.scenarios["fresh"]
    sample = regions[0]
    made = _by_step(fresh, sample)
    step_rows = []
    for step, needed in NEEDED["fresh"].items():
        have = made.get(step, Counter())
        extra = have - needed
        step_rows.append((step, ops(have), ops(needed), ops(extra) if extra else "-"))
    made_ops = Counter(op for (_, op), n in fresh.region_calls(sample).items() for _ in range(n))
    lines += [
        *needed_table(made_ops),
        f"Which calls each step of the fresh rollout makes and needs (every region alike; {sample} shown):",
        "",
        *table(["step", "made", "needed", "beyond the need"], step_rows),
    ]
    for name in ("unchanged", "credential change"):
        scenario = calls.scenarios[name]
        by_step = _by_step(scenario, sample)
        lines.append(f"- {name}: " + "; ".join(f"{step}: {ops(found)}" for step, found in by_step.items()) + ".")
    rollback = calls.scenarios["rollback"]
    for region in [calls.failed_region, *[r for r in regions if r != calls.failed_region][:1]]:
        label = "failing region" if region == calls.failed_region else "a region that had succeeded"
        by_step = _by_step(rollback, region)
        lines.append(
            f"- rollback, {label} ({region}): " + "; ".join(f"{s}: {ops(o)}" for s, o in by_step.items()) + "."
        )
    lines += ["", f"![API calls per region]({plots.CALLS})", ""]
    if calls.fresh_extra:
        lines += analysis(calls)
    return lines


def needed_table(made_ops: Counter[str]) -> list[str]:
    """The calls a fresh rollout to a region needs, from the API's requirements, beside what AWS's guide and
    pullthrough (``made_ops``: one region's calls by operation) make."""
    need_rows = [
        (req.need, req.operation, req.why, "yes" if req.in_guide else "no", "yes" if made_ops[req.operation] else "no")
        for req in REQUIREMENTS
    ]
    guide = sum(req.in_guide for req in REQUIREMENTS)
    return [
        "**Calls needed**, derived from the API's requirements, not from what the code does: a fresh rollout to a "
        "region must know what the region held before its first write (so a rollback restores exactly that and "
        "deletes only what it created), recorded durably before that write (a Lambda can die between steps); get "
        "the credentials from the home region's source secret (they are never in the execution's input); write the "
        "secret, the rule and the template; and have ECR validate the rule. On a fresh region the snapshot already "
        "says each resource is absent, so nothing else needs reading: a create that meets an existing resource fails "
        "and is read then.",
        "",
        *table(["requirement", "call", "what for", "AWS guide's loop makes it", "pullthrough makes it"], need_rows),
        f"Needed: {len(REQUIREMENTS)} calls a region; AWS's guide makes {guide} of them (the writes and the "
        "validation) and reads nothing, so it cannot roll back; pullthrough makes "
        f"{sum(made_ops.values())}.",
        "",
    ]


def analysis(calls: CallsResult) -> list[str]:
    extra: Counter[tuple[str, str]] = Counter()
    for per_region in calls.scenarios["fresh"].extra().values():
        extra |= per_region
    lines = ["### Calls beyond the need, and the fix", ""]
    for (step, op), n in sorted(extra.items()):
        why = BEYOND_WHY.get((step, op), "")
        lines.append(
            f"- {step} makes {op} {n} more time(s) per region than a fresh rollout needs{': ' if why else ''}{why}."
        )
    lines += [
        "",
        "Each step reads before it writes because it runs alone (its own Lambda invocation, retried on its own) and "
        "must be right whatever the region holds, not only on a fresh region. The fix (not made): pass the steps the "
        "snapshot SnapshotRegion already took (in the region's state) and skip the compare-read when it says the "
        "resource was absent, reading only when a create meets an existing resource; that saves these calls, one "
        "round trip each, on every fresh region.",
    ]
    return [*lines, ""]


def transitions_section(results: Results) -> list[str]:
    rows = [
        (
            row.label,
            f"{row.per_iteration:g} + {row.shared}/{row.regions} = {row.per_region:.1f}",
            f"${row.cost_per_1000_region_rollouts:.3f}",
            f"{row.lambda_per_iteration:g} + {row.lambda_shared}/{row.regions} = {row.lambda_per_region:.2f}",
        )
        for row in results.transitions.rows
    ]
    return [
        "## 3. State transitions and Lambda invocations per region",
        "",
        "State transitions are the execution history's `*StateEntered` events: those of a region's Map iteration, plus "
        "the shared ones (Prepare, the Map states, CountFailures, PastTolerance, FinishRollout) divided by R. Cost "
        f"at Standard workflow pricing, ${PRICE_PER_1000_TRANSITIONS} per 1,000 transitions (free tier ignored). "
        "Lambda invocations are counted by the in-process runner's `after_call` hook.",
        "",
        *table(
            [
                "rollout",
                "transitions / region (iteration + shared / R)",
                "Step Functions cost per 1,000 region-rollouts",
                "Lambda invocations / region",
            ],
            rows,
        ),
    ]
