"""4. Cold start per function: a fresh interpreter imports the handler (functions/<name>/app.py with layers/common
on sys.path, as Lambda lays them out) and serves a first invocation against the emulator, next to a bare baseline
in the same run: ``import boto3``, an ECR and a Secrets Manager client, one call each.

Rounds interleave the baseline and every function, so drift in the machine's speed hits both alike, and the
baseline moves through every position of a round. The emulator answers without added latency here: the comparison is
about code, not the network. Each round is one region's life cycle (StoreSecret -> CreateRule -> ValidateRule ->
ApplyTemplate -> Rollback, which undoes it all), then RemoveRule on the now empty prefix, FinishRollout, the API, the
EventBridge trigger and the drift sweep. Each child's own CPU time is kept beside its wall time: load from other
processes stretches the one, hardly the other. Peak RSS is the child's own high-water mark (VmHWM: Linux's ru_maxrss
survives exec); python -X importtime says which packages the import time goes to. Bytecode caches are warm (the
unmeasured first round writes them, whatever PYTHONDONTWRITEBYTECODE says here), as in the layer, which ships them.

The metrics code's own cost is measured apart, in fresh interpreters that have imported what every function imports
(the Logger): importing ``pullthrough.metrics``, then writing a rolled-back rollout's lines, the first time and again.
Each handler's cold start also records whether importing it loaded the metrics code (the region steps must not).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.driver import UPSTREAM, Bench
from benchmarks.settings import HOME_REGION, ROOT
from benchmarks.stats import median, next_power_of_two, ratio
from pullthrough.adapters.store import RolloutStore

CHILD = Path(__file__).with_name("cold_child.py")
METRICS_OFF = "POWERTOOLS_METRICS_DISABLED"  # the harness's own stack keeps its console quiet with it
# Set, it would keep every child compiling every module from source (the "warm" round could write no cache): that
# cost falls on the side that imports more, the handlers, and is not what a cold start pays where caches exist.
NO_BYTECODE = "PYTHONDONTWRITEBYTECODE"
TARGET_RATIO = 1.25  # handler cold start / bare boto3 baseline, at most
REGION = "eu-west-1"
CHAIN = (
    "SnapshotRegionFunction",
    "StoreSecretFunction",
    "CreateRuleFunction",
    "ValidateRuleFunction",
    "ApplyTemplateFunction",
)
OTHERS = ("RemoveRuleFunction", "FinishRolloutFunction", "ApiFunction", "RuleRequestedFunction", "DriftSweepFunction")
# Packages the bare baseline also imports: what is left is what the handler adds.
BASELINE_PACKAGES = {"boto3", "botocore", "urllib3", "s3transfer", "jmespath", "dateutil", "six", "certifi", "idna"}


@dataclass
class Sample:
    init: float  # interpreter up -> handler module (or boto3) imported, seconds
    invoke: float  # -> first invocation (or the baseline's clients and calls) done
    operations: list[str]
    clients: list[str]
    peak_mb: float
    imports_metrics: bool = False
    cpu: float = 0.0  # the child's own CPU seconds (user + system) over init and invoke: less sensitive to load

    @property
    def total(self) -> float:
        return self.init + self.invoke


@dataclass
class FunctionColdStart:
    logical_id: str
    memory_size: int  # what template.yaml sets
    step: bool  # a task of the state machine (the target applies)
    samples: list[Sample] = field(default_factory=list)

    @property
    def init(self) -> float:
        return median(s.init for s in self.samples)

    @property
    def invoke(self) -> float:
        return median(s.invoke for s in self.samples)

    @property
    def total(self) -> float:
        return median(s.total for s in self.samples)

    @property
    def cpu(self) -> float:
        return median(s.cpu for s in self.samples)

    @property
    def peak_mb(self) -> float:
        return max((s.peak_mb for s in self.samples), default=0.0)

    @property
    def operations(self) -> list[str]:
        return self.samples[0].operations if self.samples else []

    @property
    def clients(self) -> list[str]:
        return self.samples[0].clients if self.samples else []

    @property
    def imports_metrics(self) -> bool:
        return any(s.imports_metrics for s in self.samples)

    @property
    def recommended_memory(self) -> int:
        """The next power of two >= twice the peak RSS, at least 128 MB."""
        return max(128, next_power_of_two(2 * self.peak_mb))


@dataclass
class MetricsCost:
    """What the metrics code adds to a function that already imports the Logger, seconds per sample."""

    imports: list[float] = field(default_factory=list)
    first_lines: list[float] = field(default_factory=list)  # a rolled-back rollout's lines, the first time
    later_lines: list[float] = field(default_factory=list)  # the same lines again, warm
    lines: int = 0  # EMF lines such a rollout writes
    powertools_preloaded: bool = False  # Powertools' metrics module was already imported with the Logger
    powertools_import_ms: float = 0.0  # its cumulative import time inside the Logger import (importtime)

    @property
    def import_ms(self) -> float:
        return median(self.imports) * 1000

    @property
    def first_ms(self) -> float:
        return median(self.first_lines) * 1000

    @property
    def later_ms(self) -> float:
        return median(self.later_lines) * 1000


@dataclass
class ColdResult:
    baseline: FunctionColdStart
    functions: dict[str, FunctionColdStart]
    imports_handler: dict[str, float]  # top-level package -> self import ms (median), a step handler
    imports_baseline: dict[str, float]  # the same for `import boto3`
    importtime_function: str
    metrics: MetricsCost

    def ratio(self, logical_id: str) -> float:
        return ratio(self.functions[logical_id].total, self.baseline.total)

    def cpu_ratio(self, logical_id: str) -> float:
        return ratio(self.functions[logical_id].cpu, self.baseline.cpu)

    @property
    def worst_step(self) -> tuple[str, float]:
        steps = [(lid, self.ratio(lid)) for lid, fn in self.functions.items() if fn.step]
        return max(steps, key=lambda item: item[1]) if steps else ("", float("nan"))

    @property
    def met(self) -> bool:
        return all(self.ratio(lid) <= TARGET_RATIO for lid, fn in self.functions.items() if fn.step)


class ColdStartError(RuntimeError):
    """A cold-start child failed or its handler raised."""


def _environment(*without: str) -> dict[str, str]:
    """This process's environment for a child, without ``without`` and with bytecode caches allowed."""
    return {key: value for key, value in os.environ.items() if key not in (NO_BYTECODE, *without)}


def _run_child(spec: dict[str, Any], environment: dict[str, str] | None = None) -> dict[str, Any]:
    """Run one child; ``environment``: the function's own variables (the stack keeps them per function)."""
    done = subprocess.run(  # -P: the script's directory (benchmarks/) stays off sys.path
        [sys.executable, "-P", str(CHILD), json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=120,
        # As on Lambda, the handler writes its metric lines (the harness's own stack keeps them off its console)
        env={**_environment(METRICS_OFF), **(environment or {})},
        check=False,
    )
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("COLD-START-RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise ColdStartError(f"{spec.get('function_name', 'baseline')}: exit {done.returncode}\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(line.split(" ", 1)[1])
    if result["error"]:
        raise ColdStartError(f"{spec.get('function_name')}: the handler raised {result['error']}")
    return result


def _child(spec: dict[str, Any], environment: dict[str, str] | None = None) -> tuple[Sample, Any]:
    result = _run_child(spec, environment)
    sample = Sample(
        result["init"],
        result["invoke"],
        result["operations"],
        result["clients"],
        result["peak_rss_kb"] / 1024,
        result.get("imports_metrics", False),
        result["cpu"],
    )
    return sample, result["output"]


# A rollout rolled back after two regions failed validation: the most lines a common rollout writes at its end.
METRICS_SPEC = {
    "rollout": {"trigger": "api", "createdAt": "2026-11-29T10:00:00+00:00", "upstreamRegistry": "docker-hub"},
    "summary": {
        "rolloutId": "r-cold",
        "prefix": "docker-hub",
        "status": "ROLLED_BACK",
        "regions": {
            region: {"status": "ROLLED_BACK", "step": "ValidateRule", "error": {"type": "RuleValidationFailed"}}
            for region in ("eu-west-1", "eu-central-1")
        },
    },
    "finished_at": "2026-11-29T10:01:00+00:00",
}


def measure_metrics(layer_dir: Path, rounds: int) -> MetricsCost:
    """The metrics code's import and first lines in ``rounds`` fresh interpreters, and Powertools' share."""
    cost = MetricsCost()
    for _ in range(rounds):
        result = _run_child({"mode": "metrics", "layer_dir": str(layer_dir), **METRICS_SPEC})
        cost.imports.append(result["import"])
        cost.first_lines.append(result["first"])
        cost.later_lines.append(result["again"])
        cost.lines, cost.powertools_preloaded = result["lines"], result["powertools_metrics_preloaded"]
    logger_import = ["-c", f"import sys; sys.path[:0] = [{str(layer_dir)!r}]; import pullthrough.observability"]
    cost.powertools_import_ms = median(
        _cumulative_import_ms(logger_import, "aws_lambda_powertools.metrics") for _ in range(3)
    )
    return cost


def _spec(bench: Bench, logical_id: str, event: Any) -> dict[str, Any]:
    fn = bench.stack.template.functions[logical_id]
    return {
        "mode": "handler",
        "function_dir": str(fn.code_dir),
        "layer_dir": str(bench.stack.template.layer_dirs[0]),
        "handler": fn.handler,
        "event": event,
        "function_name": bench.function_name(logical_id),
        "function_arn": bench.stack.function_arns[logical_id],
        "memory": fn.memory_size,
    }


def _events(bench: Bench, prefix: str, rollout_id: str, source_arn: str) -> dict[str, Any]:
    """The first events of a round; the chain's later events get the earlier steps' outputs."""
    request = bench.request(prefix, [REGION], source_arn)
    template = request.template()
    task = {
        "rolloutId": rollout_id,
        "operation": "APPLY",
        "region": REGION,
        "rule": request.rule().model_dump(exclude_none=True),
        "sourceSecretArn": source_arn,
        "creationTemplate": template.to_ecr() if template else None,
        "failureTolerance": 0,
    }
    api_event = json.loads((ROOT / "events" / "api_get_rollout.json").read_text())
    api_event["path"] = f"/rollouts/{rollout_id}"
    api_event["pathParameters"] = {"rollout_id": rollout_id}
    api_event["requestContext"]["path"] = f"/v1/rollouts/{rollout_id}"
    return {
        "task": task,
        "RemoveRuleFunction": {**task, "operation": "DELETE", "sourceSecretArn": None, "creationTemplate": None},
        "FinishRolloutFunction": {
            "rolloutId": rollout_id,
            "prefix": prefix,
            "operation": "APPLY",
            "regionResults": [
                {
                    "rolloutId": rollout_id,
                    "region": REGION,
                    "status": "SUCCEEDED",
                    "step": "ApplyTemplate",
                    "error": {},
                    "changes": {},
                }
            ],
            "rollbackResults": [],
        },
        "ApiFunction": api_event,
        "RuleRequestedFunction": {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Pull Through Cache Rule Requested",
            "source": "pullthrough",
            "account": bench.stack.account_id,
            "time": "2026-11-27T00:00:00Z",
            "region": HOME_REGION,
            "resources": [],
            "detail": {**UPSTREAM, "credentials": {"username": "u", "accessToken": "refused"}, "regions": [REGION]},
        },
        "DriftSweepFunction": {"mode": "report"},
    }


def _put_rollout(bench: Bench, rollout_id: str, prefix: str) -> None:
    """The rollout record FinishRollout and the API read, written by the app's own store."""
    store = RolloutStore(bench.stack.client("dynamodb"), bench.stack.environment["TABLE_NAME"])
    store.put_rollout(
        {
            "rolloutId": rollout_id,
            "prefix": prefix,
            "operation": "APPLY",
            "status": "RUNNING",
            "failedCount": 0,
            "regions": {REGION: {"status": "PENDING"}},
        }
    )


BASELINE = "baseline"


def round_order(functions: list[str], number: int) -> list[str]:
    """Round ``number``'s children: ``functions`` in their order (the chain feeds each step the last one's output)
    with the baseline before a different one each round, after them all every ``len(functions) + 1``-th round, so
    whatever the emulator or the machine does at one point of a round falls on the baseline no more than on them."""
    at = number % (len(functions) + 1)
    return [*functions[:at], BASELINE, *functions[at:]]


def _round(bench: Bench, result: dict[str, FunctionColdStart], order: list[str]) -> Sample:
    """One baseline and one cold start of every function, in ``order`` (round_order's); the baseline's sample."""
    baseline: Sample | None = None
    prefix = bench.prefix("cold")
    rollout_id = f"r-cold{uuid.uuid4().hex[:12]}"
    source_arn = bench.source_secret(prefix)
    _put_rollout(bench, rollout_id, prefix)
    events = _events(bench, prefix, rollout_id, source_arn)
    task: dict[str, Any] = dict(events["task"])
    outputs = {
        "StoreSecretFunction": "storeSecret",
        "CreateRuleFunction": "createRule",
        "ApplyTemplateFunction": "applyTemplate",
    }
    for logical_id in order:
        if logical_id == BASELINE:
            baseline, _ = _child({"mode": "baseline", "region": REGION})
            continue
        event = task if logical_id in (*CHAIN, "RollbackFunction") else events[logical_id]
        sample, output = _child(_spec(bench, logical_id, event), bench.stack.function_environments[logical_id])
        if logical_id in outputs:
            task[outputs[logical_id]] = output
        if logical_id in result:
            result[logical_id].samples.append(sample)
    bench.cleanup(prefix, [REGION])
    if baseline is None:
        raise ColdStartError(f"no baseline in the round {order}")
    return baseline


def _importtime_lines(args: list[str]) -> list[str]:
    """What ``python -X importtime`` writes for ``args`` (stderr), line by line."""
    done = subprocess.run(
        [sys.executable, "-P", "-X", "importtime", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=_environment(),
        check=False,
    )
    return done.stderr.splitlines()


def _importtime(args: list[str]) -> dict[str, float]:
    """Self import time (ms) per top-level package, from ``python -X importtime``."""
    found: dict[str, float] = {}
    for line in _importtime_lines(args):
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, _, name = line.split(":", 1)[1].split("|")
        package = name.strip().split(".")[0]
        found[package] = found.get(package, 0.0) + int(own) / 1000
    return found


def _cumulative_import_ms(args: list[str], module: str) -> float:
    """Cumulative import time (ms) of ``module`` in ``python -X importtime`` (0 when it is not imported)."""
    for line in _importtime_lines(args):
        if line.startswith("import time:") and line.split("|")[-1].strip() == module:
            return int(line.split("|")[1]) / 1000
    return 0.0


def _median_imports(runs: list[dict[str, float]]) -> dict[str, float]:
    packages = {name for run in runs for name in run}
    return dict(sorted(((p, median(run.get(p, 0.0) for run in runs)) for p in packages), key=lambda kv: -kv[1]))


def measure(bench: Bench, *, profile: bool = True) -> ColdResult:
    """Interleaved rounds of every function's cold start and the baseline, then (``profile``) the import-time
    breakdown and the metrics code's cost."""
    stack = bench.stack
    definition = (ROOT / "statemachine" / "rollout.asl.json").read_text()
    wanted = list(CHAIN) + ["RollbackFunction"] + ([] if bench.settings.quick else list(OTHERS))
    functions = {
        lid: FunctionColdStart(lid, stack.template.functions[lid].memory_size, f"${{{lid}Arn}}" in definition)
        for lid in wanted
    }
    baseline = FunctionColdStart("baseline", 0, False)
    with bench.latency(0):
        _round(bench, {}, round_order(wanted, 0))  # warm the disk and bytecode caches; not counted
        for number in range(bench.settings.cold_rounds):
            baseline.samples.append(_round(bench, functions, round_order(wanted, number)))
    if not profile:
        return ColdResult(baseline, functions, {}, {}, CHAIN[0], MetricsCost())
    fn = stack.template.functions[CHAIN[0]]
    handler_import = [
        "-c",
        f"import sys; sys.path[:0] = [{str(fn.code_dir)!r}, {str(stack.template.layer_dirs[0])!r}]; import app",
    ]
    runs = 1 if bench.settings.quick else 3
    return ColdResult(
        baseline=baseline,
        functions=functions,
        imports_handler=_median_imports([_importtime(handler_import) for _ in range(runs)]),
        imports_baseline=_median_imports([_importtime(["-c", "import boto3"]) for _ in range(runs)]),
        importtime_function=CHAIN[0],
        metrics=measure_metrics(stack.template.layer_dirs[0], max(3, bench.settings.cold_rounds)),
    )


def summary(cold: ColdResult) -> list[str]:
    """A plain-text table of the medians and each function's spread of per-round ratios (``--only cold-start``)."""
    rounds = len(cold.baseline.samples)
    lines = [
        f"{rounds} interleaved round(s); ratio = median total / median baseline total (target <= {TARGET_RATIO}x "
        "for the steps); per-round ratios min..max",
        f"{'function':26s} {'import':>8s} {'invoke':>8s} {'total':>8s} {'ratio':>7s} {'cpu':>8s} {'ratio':>7s}  "
        "per round",
        f"{'baseline':26s} {cold.baseline.init * 1000:6.0f}ms {cold.baseline.invoke * 1000:6.0f}ms "
        f"{cold.baseline.total * 1000:6.0f}ms {1:6.2f}x {cold.baseline.cpu * 1000:6.0f}ms {1:6.2f}x",
    ]
    for lid, fn in cold.functions.items():
        per_round = [s.total / b.total for s, b in zip(fn.samples, cold.baseline.samples, strict=True)]
        name = lid.removesuffix("Function") + ("" if fn.step else " (not a step)")
        verdict = "" if not fn.step else ("  ok" if cold.ratio(lid) <= TARGET_RATIO else "  OVER")
        lines.append(
            f"{name:26s} {fn.init * 1000:6.0f}ms {fn.invoke * 1000:6.0f}ms {fn.total * 1000:6.0f}ms "
            f"{cold.ratio(lid):6.2f}x {fn.cpu * 1000:6.0f}ms {cold.cpu_ratio(lid):6.2f}x  "
            f"{min(per_round):.2f}..{max(per_round):.2f}{verdict}  "
            f"[{', '.join(fn.clients)}]"
        )
    return lines
