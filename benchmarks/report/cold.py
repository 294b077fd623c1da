"""Section 4: cold start per function against the bare boto3 baseline, MemorySize, the import-time breakdown."""

from __future__ import annotations

from collections import Counter

from benchmarks import plots
from benchmarks.cold_start import BASELINE_PACKAGES, ColdResult
from benchmarks.report.markdown import millis, ops, table, times
from benchmarks.report.results import Results

PYDANTIC_PACKAGES = ("pydantic", "pydantic_core", "typing_extensions", "annotated_types", "typing_inspection")


def section(results: Results) -> list[str]:
    cold = results.cold
    base = cold.baseline
    lines = [
        "## 4. Cold start",
        "",
        "Each sample is a fresh interpreter. A function's: the directory of functions/<name>/app.py and layers/common "
        "on sys.path (as Lambda lays out /var/task and /opt/python), import the handler module (init), serve one "
        "invocation against the emulator (first invocation: it makes its clients and calls). The bare baseline, "
        "measured in the same rounds: `import boto3`, then an ECR and a Secrets Manager client and one call each "
        "(DescribePullThroughCacheRules, ListSecrets), so both sides make their clients and a few calls; the calls "
        f"each handler made are listed. No emulator latency here. Medians of {results.settings.cold_rounds} "
        "interleaved round(s), the baseline at a different place in each round (so what the emulator or the machine "
        "does at one point of a round falls on both sides alike); ratio = median total / median baseline total. "
        "Bytecode caches are warm on both sides, as the layer ships them (layers/common/Makefile compiles it: "
        "Lambda's /opt is read-only, and without them every cold start compiled boto3, botocore, Powertools and "
        "pullthrough from source, more CPU than the imports themselves). CPU is the child's own (user + system): "
        "other processes on the machine stretch the wall time of each child, not its CPU time, so the CPU ratio "
        "says what the code costs when the wall-time ratio is noisy (the emulator's work for the calls is in the "
        "wall time only). Peak RSS is the child's VmHWM.",
        "",
    ]
    rows = [
        (
            "baseline: boto3 + 2 clients + 2 calls",
            millis(base.init),
            millis(base.invoke),
            millis(base.total),
            "1.00x",
            millis(base.cpu),
            "1.00x",
            ops(Counter(base.operations)),
            ", ".join(base.clients),
            f"{base.peak_mb:.0f}",
            "",
            "",
            "",
        )
    ]
    for lid, fn in cold.functions.items():
        rows.append(
            (
                lid.removesuffix("Function") + ("" if fn.step else " (not a step)"),
                millis(fn.init),
                millis(fn.invoke),
                millis(fn.total),
                times(cold.ratio(lid)),
                millis(fn.cpu),
                times(cold.cpu_ratio(lid)),
                ops(Counter(fn.operations)),
                ", ".join(fn.clients),
                f"{fn.peak_mb:.0f}",
                str(fn.memory_size),
                str(fn.recommended_memory),
                "yes" if fn.imports_metrics else "no",
            )
        )
    lines += table(
        [
            "function",
            "import",
            "first invocation",
            "total",
            "/ baseline",
            "CPU",
            "CPU / baseline",
            "calls in the first invocation",
            "clients made",
            "peak RSS, MB",
            "template MemorySize",
            "suggested",
            "imports metrics",
        ],
        rows,
    )
    lines += [f"![cold start per function]({plots.COLD})", "", *_memory(cold), *_metrics(cold), *_imports(cold)]
    return lines


def _metrics(cold: ColdResult) -> list[str]:
    cost = cold.metrics
    importing = [lid.removesuffix("Function") for lid, fn in cold.functions.items() if fn.imports_metrics]
    steps = [lid.removesuffix("Function") for lid, fn in cold.functions.items() if fn.imports_metrics and fn.step]
    preloaded = (
        "Powertools' own package imports its metrics module whenever the Logger is imported "
        f"(`aws_lambda_powertools/__init__.py`; {cost.powertools_import_ms:.0f} ms cumulative inside that import), "
        "so every function paid for it before the app wrote any metric"
        if cost.powertools_preloaded
        else f"Powertools' metrics module is not imported with the Logger here: it costs {cost.powertools_import_ms:.0f} ms"
    )
    return [
        f"**The metrics code** (`pullthrough.metrics`, EMF lines on stdout; medians of {len(cost.imports)} fresh "
        f"interpreters that have imported the Logger, as every function has): importing it takes "
        f"{cost.import_ms:.1f} ms; writing a rolled-back rollout's {cost.lines} lines takes {cost.first_ms:.1f} ms "
        f"the first time and {cost.later_ms:.1f} ms again. {preloaded}. Functions whose import loads it: "
        f"{', '.join(importing) or 'none'}; of the state machine's steps, {', '.join(steps) or 'none'} (the region "
        "steps never: they have nothing to count).",
        "",
    ]


def _memory(cold: ColdResult) -> list[str]:
    peak = max(fn.peak_mb for fn in cold.functions.values())
    suggested = max(fn.recommended_memory for fn in cold.functions.values())
    set_to = sorted({fn.memory_size for fn in cold.functions.values()})
    verdict = (
        "right"
        if set_to == [suggested]
        else ("more than the rule asks for" if min(set_to) > suggested else "less than the rule asks for")
    )
    return [
        f"**MemorySize.** The largest peak RSS of a first invocation is {peak:.0f} MB; the next power of two at or "
        f"above twice that (at least 128) is {suggested} MB. The template sets {', '.join(map(str, set_to))} MB: "
        f"{verdict} by memory alone. Lambda also gives a function CPU in proportion to its memory (one vCPU at "
        "1,769 MB), and cold starts are CPU-bound import work, so a smaller setting trades memory cost for a slower "
        "init: measure init duration on AWS before lowering it.",
        "",
    ]


def _imports(cold: ColdResult) -> list[str]:
    added = {p: ms for p, ms in cold.imports_handler.items() if p not in BASELINE_PACKAGES and ms >= 1.0}
    top = sorted(added.items(), key=lambda kv: -kv[1])[:10]
    total_added = sum(added.values())
    boto_handler = sum(ms for p, ms in cold.imports_handler.items() if p in BASELINE_PACKAGES)
    boto_base = sum(ms for p, ms in cold.imports_baseline.items() if p in BASELINE_PACKAGES)
    worst_id, worst = cold.worst_step
    lines = [
        f"**Where the import time goes** (`python -X importtime`, {cold.importtime_function}, self time per "
        f"top-level package, median of runs). boto3 and its dependencies: {boto_handler:.0f} ms in the handler, "
        f"{boto_base:.0f} ms in the baseline. What the handler adds on top, {total_added:.0f} ms in all:",
        "",
        *table(["package", "self import time"], [(p, f"{ms:.0f} ms") for p, ms in top]),
    ]
    if not cold.met:
        worst_fn = cold.functions[worst_id]
        pydantic_ms = sum(cold.imports_handler.get(p, 0.0) for p in PYDANTIC_PACKAGES)
        lines += [
            "### What dominates the cold start, and what would fix it",
            "",
            f"The worst step function ({worst_id.removesuffix('Function')}) takes {times(worst)} the baseline: "
            f"{millis(worst_fn.init - cold.baseline.init)} more to import and "
            f"{millis(worst_fn.invoke - cold.baseline.invoke)} more for the first invocation, in which it makes "
            f"{len(worst_fn.samples[-1].clients)} client(s) ({', '.join(worst_fn.samples[-1].clients)}) and "
            f"{len(worst_fn.samples[-1].operations)} call(s) where the baseline makes 2 and 2: each client loads its "
            "service model (tens of ms) and each call is a request. Step functions import neither pydantic nor the "
            "request models (tests/unit/test_tasks.py fails if one does: their tasks are plain dataclasses checked "
            "by pullthrough.fields); pydantic and its companions "
            f"({', '.join(PYDANTIC_PACKAGES)}) take {pydantic_ms:.0f} ms in the profiled handler, `pullthrough` "
            f"{cold.imports_handler.get('pullthrough', 0.0):.0f} ms and Powertools "
            f"{cold.imports_handler.get('aws_lambda_powertools', 0.0):.0f} ms. By CPU time, which load from other "
            f"processes hardly stretches, it takes {times(cold.cpu_ratio(worst_id))} the baseline's: where that is "
            "well under the wall-time ratio, the difference is the machine's load and the emulator's work for the "
            "step's calls, not the step's code. What is left to cut: the clients and calls themselves (each step "
            "makes only those its work needs: a Rollback reads its snapshot from the home-region table before it "
            "opens the region; FinishRollout makes its Secrets Manager client only when it restores a source secret), "
            "the Powertools Logger's import (Powertools' package imports its metrics and tracer modules with it), "
            "and Lambda SnapStart, which resumes an initialised snapshot instead of importing: template.yaml offers it "
            "(parameter `SnapStart`; python3.12+ runtimes, x86_64 and arm64, not in every region) on the versions "
            "published behind the alias `live`. The API, the event triggers and every step of the state machine "
            "invoke that alias (`!Ref <Function>.Alias` in DefinitionSubstitutions; $LATEST is never restored from "
            "a snapshot; tests/e2e/test_local_stack.py checks the steps do). The handlers make "
            "their clients and sessions on first use, so no credentials or connections are frozen in a snapshot.",
            "",
        ]
    return lines
