# mk/bench.mk: `make bench` runs the performance harness on the embedded stack and rewrites benchmarks/REPORT.md
# and its plots. Not part of `make test` (tests/bench/test_bench_smoke.py runs a --quick pass there).
# Included by the Makefile, which defines VENV and the setup target (and lists bench as .PHONY).
#   make bench BENCH_ARGS="--repeats 5 --latency-ms 100"

BENCH_ARGS ?=

bench: setup sam-tools
	$(VENV)/bin/python -m benchmarks.run $(BENCH_ARGS)
