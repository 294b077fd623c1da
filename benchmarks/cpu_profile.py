"""CPU per warm rollout to every region, and where it goes.

    python -m benchmarks.cpu_profile [--runs N] [--regions N] [--profile] [--top N]

Starts the embedded stack as ``make bench`` does, runs one unmeasured rollout to every region (the warm-up: handler
modules imported, every region's clients made, then the heap frozen), then ``--runs`` measured rollouts with no
emulator latency, printing this process's CPU seconds per rollout (``time.process_time`` over the rollout: the
emulator, the engine and the handlers share the process) and their median. The machine is shared: compare medians
of CPU time, not wall time.

``--profile`` also attaches py-spy (a dev dependency; it samples from outside, across every thread) while
the measured rollouts run, keeping only samples of the thread that holds the GIL: the Python code on the CPU (C code
that releases the GIL, e.g. socket I/O, is not counted). It prints the top functions by own share (the innermost
Python frame: C code called with the GIL held counts for its caller) and by cumulative share (the function anywhere
on the stack), and the share per package of the innermost frame. moto's server, the engine and the handlers run in
many threads: a profiler inside the process (cProfile) would see only one of them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.settings import ROOT, Settings
from benchmarks.stats import median

LAYER = ROOT / "layers" / "common"
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


@dataclass
class Profile:
    """Samples of the GIL holder's stack, by innermost function, by function anywhere on it, by package."""

    own: Counter[str] = field(default_factory=Counter)
    cumulative: Counter[str] = field(default_factory=Counter)
    packages: Counter[str] = field(default_factory=Counter)
    total: int = 0
    no_frames: int = 0  # GIL held but no Python frame (a thread starting or ending, C code): not in the shares

    @classmethod
    def from_raw(cls, text: str) -> Profile:
        """Parse py-spy's ``raw`` output: one ``frame;frame;...;innermost count`` line per distinct stack."""
        profile = cls()
        for line in text.splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            if not stack.strip():
                profile.no_frames += int(count)
                continue
            frames = [_function(frame) for frame in stack.split(";")]
            samples = int(count)
            profile.total += samples
            profile.own[frames[-1][0]] += samples
            profile.packages[frames[-1][1]] += samples
            for name in {name for name, _ in frames}:
                profile.cumulative[name] += samples
        return profile


def _function(frame: str) -> tuple[str, str]:
    """py-spy's ``func (path/file.py)`` -> (``func (path/file.py)``, its package: moto/core, botocore, ...)."""
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame, frame
    path = match["file"].split("site-packages/")[-1].removeprefix(str(ROOT) + "/")
    if path.startswith("/"):  # the standard library (or another absolute path outside the venv)
        return f"{match['func']} ({path.rsplit('/', 1)[-1]})", "stdlib"
    parts = path.split("/")
    package = (
        "/".join(parts[:2]) if parts[0] in ("moto", "local", "layers", "functions") and len(parts) > 2 else parts[0]
    )
    return f"{match['func']} ({path})", package


class Spy:
    """py-spy recording this process (only the thread holding the GIL: on-CPU Python) while the block runs."""

    def __init__(self, rate: int) -> None:
        found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        if not Path(found).exists():
            raise SystemExit("--profile needs py-spy: pip install py-spy (any environment; it attaches by pid)")
        self._command = [found, "record", "--pid", str(os.getpid()), "--gil", "--nonblocking", "--full-filenames"]
        self._command += ["--function", "--rate", str(rate), "--format", "raw"]
        self._process: subprocess.Popen[bytes] | None = None
        self.outputs: list[Path] = []

    @contextlib.contextmanager
    def recording(self, directory: Path) -> Iterator[None]:
        output = directory / f"spy-{len(self.outputs)}.txt"
        process = subprocess.Popen(
            [*self._command, "--output", str(output)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        time.sleep(1.0)  # attached before the rollout starts
        try:
            yield
        finally:
            process.send_signal(signal.SIGINT)
            _, error = process.communicate(timeout=60)
            if not output.exists():
                raise SystemExit(f"py-spy wrote nothing: {error.decode(errors='replace').strip()}")
            self.outputs.append(output)

    def profile(self) -> Profile:
        return Profile.from_raw("\n".join(path.read_text(errors="replace") for path in self.outputs))


def _print_top(title: str, counts: Counter[str], total: int, top: int) -> None:
    print(f"\n{title} (share of samples holding the GIL)")
    for label, samples in counts.most_common(top):
        print(f"  {100 * samples / total:5.1f}%  {label}")


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cpu_profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="measured rollouts (default 5)")
    parser.add_argument("--regions", type=int, help="regions per rollout (default: all)")
    parser.add_argument("--profile", action="store_true", help="sample with py-spy during the measured rollouts")
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second (default 250)")
    parser.add_argument("--raw", type=Path, help="also write py-spy's raw stacks (collapsed, with counts) here")
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
    from local.stack import EmbeddedStack

    settings = Settings(out=Path(os.devnull), latency_ms=0.0)
    regions = settings.regions(args.regions or len(settings.all_regions))
    spy = Spy(args.rate) if args.profile else None
    scratch = Path(tempfile.mkdtemp(prefix="cpu-profile-"))
    cpus: list[float] = []
    handler_cpus: list[float] = []
    with (
        EmbeddedStack(aws_port=0, api_port=0, parameters={"LogLevel": "WARNING"}) as stack,
        Bench(stack, settings) as bench,
        bench.latency(0),
    ):
        prefix = bench.prefix("cpu")
        bench.rollout(prefix, regions, bench.source_secret(prefix))  # warm-up
        bench.cleanup(prefix, regions)
        engine_tuning.freeze_heap()
        for number in range(1, args.runs + 1):
            prefix = bench.prefix("cpu")
            source = bench.source_secret(prefix)
            started = time.perf_counter()
            with spy.recording(scratch) if spy else contextlib.nullcontext():
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
        + (" [py-spy attached: it slows the process]" if spy else "")
    )
    profile = spy.profile() if spy else Profile()
    if spy and args.raw:
        args.raw.write_text("\n".join(path.read_text(errors="replace") for path in spy.outputs))
    shutil.rmtree(scratch, ignore_errors=True)
    if profile.total:
        print(
            f"samples holding the GIL: {profile.total} with Python frames (+{profile.no_frames} without) over "
            f"{args.runs} rollout(s) at {args.rate}/s"
        )
        _print_top("By package of the innermost frame", profile.packages, profile.total, args.top)
        _print_top("By own CPU (innermost Python frame)", profile.own, profile.total, args.top)
        _print_top("By cumulative CPU (anywhere on the stack)", profile.cumulative, profile.total, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
