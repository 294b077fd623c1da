# mk/bench.mk: `make bench` runs the performance harness on the embedded stack and rewrites benchmarks/REPORT.md
# and its plots. Not part of `make test` (tests/bench/test_bench_smoke.py runs a --quick pass there).
# Its section 7 (the Organization-scale model, no measurement) alone: python -m benchmarks.org_model. The baselines
# (ours, our handlers in a row, AWS's guide loop) alone, in minutes: python -m benchmarks.baselines.
# Included by the Makefile, which defines VENV and the setup target (and lists bench as .PHONY).
#   make bench BENCH_ARGS="--repeats 5 --latency-ms 100"

BENCH_ARGS ?=

bench: setup sam-tools
	$(VENV)/bin/python -m benchmarks.run $(BENCH_ARGS)

# `make bench-accounts`: issue 12's scale check, one rule to 200 member accounts x 17 regions (tens of minutes here),
# written into REPORT.md's many-accounts section (make bench keeps it). BENCH_ACCOUNTS_ARGS="--accounts 50".
.PHONY: bench-accounts
BENCH_ACCOUNTS_ARGS ?=

bench-accounts: setup sam-tools
	POWERTOOLS_METRICS_DISABLED=true $(VENV)/bin/python -m benchmarks.many_accounts $(BENCH_ACCOUNTS_ARGS)
