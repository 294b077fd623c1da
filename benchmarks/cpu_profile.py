"""CPU per warm rollout to every region, and where it goes.

    python -m benchmarks.cpu_profile [--runs N] [--regions N] [--profile] [--top N]

Starts the embedded stack as ``make bench`` does, runs one unmeasured rollout to every region (the warm-up: handler
modules imported, every region's clients made, then the heap frozen), then ``--runs`` measured rollouts with no
emulator latency, printing this process's CPU seconds per rollout (``time.process_time`` over the rollout: the
emulator, the engine and the handlers share the process) and their median. The machine is shared: compare medians
of CPU time, not wall time.

``--profile`` also samples every thread's Python stack every few milliseconds while the measured rollouts run and
weighs each sample by the CPU that thread used since the previous one (Linux ``/proc/self/task/<tid>/schedstat``),
so waiting threads weigh nothing. It prints the top functions by own CPU (the innermost Python frame: time in C
code counts for the Python function that called it) and by cumulative CPU (the function anywhere on the stack), and
the share per package of the innermost frame. The sampler costs CPU itself: compare CPU numbers of runs without it.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from benchmarks.settings import ROOT, Settings
from benchmarks.stats import median

LAYER = ROOT / "layers" / "common"
_SITE = f"{os.sep}site-packages{os.sep}"


def _label(frame: FrameType) -> str:
    code = frame.f_code
    return f"{_short(code.co_filename)}:{code.co_firstlineno}({code.co_qualname})"


def _short(filename: str) -> str:
    if _SITE in filename:
        return filename.split(_SITE, 1)[1]
    root = str(ROOT) + os.sep
    if filename.startswith(root):
        return filename[len(root) :]
    return filename.rsplit(os.sep, 2)[-1] if os.sep in filename else filename


def _package(filename: str) -> str:
    """moto/stepfunctions, moto/core, botocore, werkzeug, local/iam_check.py, ... of a source file."""
    short = _short(filename)
    parts = short.split(os.sep)
    if parts[0] in ("moto", "local", "layers", "functions") and len(parts) > 2:
        return os.sep.join(parts[:2])
    if parts[0] == "local" and len(parts) == 2:
        return short
    return parts[0] if len(parts) > 1 else "stdlib:" + parts[0]


@dataclass
class Profile:
    """CPU nanoseconds by innermost function, by function on the stack, and by innermost package."""

    own: Counter[str] = field(default_factory=Counter)
    cumulative: Counter[str] = field(default_factory=Counter)
    packages: Counter[str] = field(default_factory=Counter)
    total: int = 0

    def add(self, frame: FrameType, ns: int) -> None:
        self.total += ns
        self.own[_label(frame)] += ns
        self.packages[_package(frame.f_code.co_filename)] += ns
        seen = set()
        walk: FrameType | None = frame
        while walk is not None:
            label = _label(walk)
            if label not in seen:
                seen.add(label)
                self.cumulative[label] += ns
            walk = walk.f_back


class Sampler:
    """Every ``interval`` seconds: each thread's stack, weighted by the CPU the thread used since the last sample."""

    def __init__(self, profile: Profile, interval: float = 0.004) -> None:
        self.profile = profile
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen: dict[int, int] = {}  # native thread id -> CPU ns at the last sample

    def __enter__(self) -> Sampler:
        self._stop.clear()
        self._seen = {t.native_id: _cpu_ns(t.native_id) for t in threading.enumerate() if t.native_id}
        self._thread = threading.Thread(target=self._loop, name="cpu-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _loop(self) -> None:
        me = threading.get_ident()
        while not self._stop.wait(self.interval):
            natives = {t.ident: t.native_id for t in threading.enumerate()}
            for ident, frame in sys._current_frames().items():
                native = natives.get(ident)
                if ident == me or not native:
                    continue
                now = _cpu_ns(native)
                used = now - self._seen.get(native, 0)  # a thread started since the last sample: all of its CPU
                self._seen[native] = now
                if used > 0:
                    self.profile.add(frame, used)


def _cpu_ns(native_id: int) -> int:
    try:
        with open(f"/proc/self/task/{native_id}/schedstat") as stat:
            return int(stat.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def _print_top(title: str, counts: Counter[str], total: int, top: int) -> None:
    print(f"\n{title} (share of sampled CPU)")
    for label, ns in counts.most_common(top):
        print(f"  {100 * ns / total:5.1f}%  {ns / 1e9:7.2f} s  {label}")


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cpu_profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="measured rollouts (default 5)")
    parser.add_argument("--regions", type=int, help="regions per rollout (default: all)")
    parser.add_argument("--profile", action="store_true", help="sample stacks during the measured rollouts")
    parser.add_argument("--top", type=int, default=30, help="rows per profile table (default 30)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    if str(LAYER) not in sys.path:
        sys.path.insert(0, str(LAYER))
    from benchmarks.driver import Bench
    from local.emulator import engine_tuning
    from local.stack import LocalStack

    settings = Settings(out=Path(os.devnull), latency_ms=0.0)
    regions = settings.regions(args.regions or len(settings.all_regions))
    profile = Profile()
    cpus: list[float] = []
    handler_cpus: list[float] = []
    with LocalStack(aws_port=0, api_port=0, parameters={"LogLevel": "WARNING"}) as stack, Bench(stack, settings) as bench:
        with bench.latency(0):
            prefix = bench.prefix("cpu")
            bench.rollout(prefix, regions, bench.source_secret(prefix))  # warm-up
            bench.cleanup(prefix, regions)
            engine_tuning.freeze_heap()
            for number in range(1, args.runs + 1):
                prefix = bench.prefix("cpu")
                source = bench.source_secret(prefix)
                started = time.perf_counter()
                if args.profile:
                    with Sampler(profile):
                        run = bench.rollout(prefix, regions, source)
                else:
                    run = bench.rollout(prefix, regions, source)
                wall = time.perf_counter() - started
                if run.outcome != "SUCCEEDED":
                    print(f"rollout {run.rollout_id} ended {run.outcome}", file=sys.stderr)
                    return 1
                handlers = sum(i.cpu for i in run.invocations)
                cpus.append(run.cpu)
                handler_cpus.append(handlers)
                print(
                    f"run {number}: {len(regions)} regions, CPU {run.cpu:.2f} s ({1000 * run.cpu / len(regions):.0f} "
                    f"ms/region), handlers {handlers:.2f} s, wall {wall:.2f} s, {len(run.invocations)} invocations",
                    flush=True,
                )
                bench.cleanup(prefix, regions)
    print(
        f"\nmedian CPU per {len(regions)}-region rollout: {median(cpus):.2f} s "
        f"(runs: {', '.join(f'{c:.2f}' for c in cpus)}); handlers {median(handler_cpus):.2f} s"
        + (" [sampler on: it adds CPU]" if args.profile else "")
    )
    if args.profile and profile.total:
        print(f"sampled CPU: {profile.total / 1e9:.2f} s over {args.runs} rollout(s)")
        _print_top("By package of the innermost frame", profile.packages, profile.total, args.top)
        _print_top("By own CPU (innermost Python frame)", profile.own, profile.total, args.top)
        _print_top("By cumulative CPU (anywhere on the stack)", profile.cumulative, profile.total, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
