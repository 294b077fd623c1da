"""Performance harness for pullthrough on the embedded stack: ``python -m benchmarks.run`` writes REPORT.md and plots.

Not part of ``make test`` (a ``--quick`` run is: tests/bench/test_bench_smoke.py). See benchmarks/run.py.
"""
