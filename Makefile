# pullthrough: `make demo` runs a multi-region rollout on the embedded emulator; `make test` runs every check.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.13 is the Lambda runtime we target: find one (pyenv install, or python3.13 on PATH).
PYTHON313 ?= $(shell for p in $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.13*/bin/python3.13 2>/dev/null | sort -V | tail -1) $$(command -v python3.13); do "$$p" -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null && echo "$$p" && break; done)
BOOTSTRAP_PY ?= $(shell command -v python3)
UV_VERSION := 0.13.8
UV := .tools/uv/bin/uv
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: help setup fmt lint types checks check fast-tests test demo local sweep bench clean check-python
help:
	@echo "make demo   - roll a sample rule out to several regions on the embedded AWS emulator"
	@echo "make local  - serve the API on 127.0.0.1:3000 and the emulator on 127.0.0.1:5000 (state in memory)"
	@echo "make setup  - create .venv from uv.lock (includes the pullthrough CLI: .venv/bin/pullthrough --help)"
	@echo "make check  - the fast loop: lint, types, template + ASL checks, unit + contract tests (no emulator)"
	@echo "make test   - set up, then lint, type-check, validate template + ASL, run all tests (20 slowest listed)"
	@echo "make sweep  - run the drift sweep now against a running make local"
	@echo "make build  - sam build (python3.13, arm64)   make bench - benchmarks (not part of make test)"
	@echo "make bench-accounts - one rule to 200 accounts x 17 regions (issue 12 scale check; slow)"
	@echo ""
	@echo "Variables (make VAR=value target, or in the environment):"
	@echo "  PULLTHROUGH_API_PORT=3000   port of the local API (make local, make demo: any free port when unset)"
	@echo "  PULLTHROUGH_AWS_PORT=5000   port of the local AWS emulator (likewise)"
	@echo "  PULLTHROUGH_REGISTRY_PORT=5001  port of the emulator's ECR registry endpoint (docs/local-registry.md)"
	@echo "  SWEEP_ARGS=\"--mode repair\"  arguments of make sweep (python -m local.sweep --help)"
	@echo "  BENCH_ARGS=\"--quick\"        arguments of make bench (python -m benchmarks.run --help)"
	@echo "  BENCH_ACCOUNTS_ARGS=\"--accounts 50\"  arguments of make bench-accounts (python -m benchmarks.many_accounts --help)"
	@echo "  PYTEST_WORKERS=2            test processes of make test (0: one, in process); PYTEST_ARGS=\"-k x\" more"
	@echo "  PYTHON313=/path/python3.13  the Python 3.13 to build .venv and the SAM tools with (found: $(or $(PYTHON313),none))"

check-python:
	@test -n "$(PYTHON313)" || { echo "Python 3.13 not found: install it (pyenv install 3.13) or set PYTHON313=/path/to/python3.13" >&2; exit 1; }

$(UV):
	@test -n "$(BOOTSTRAP_PY)" || { echo "python3 is needed to bootstrap uv" >&2; exit 1; }
	$(BOOTSTRAP_PY) -m venv .tools/uv
	.tools/uv/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml cli/pyproject.toml uv.lock | $(UV) check-python
	$(UV) sync --frozen --python $(PYTHON313)
	@touch $@

setup: $(VENV)/.synced

include mk/*.mk

fmt: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

types: setup
	$(VENV)/bin/mypy layers/common functions local tests benchmarks cli

# The static checks at once (each a process of its own; their shared prerequisites are made once, first), each
# one's output in one piece.
checks:
	$(MAKE) --no-print-directory -j 4 --output-sync=target lint types lint-template lint-asl

# The fast loop: the static checks (cfn-lint without SAM's second pass over template.yaml) and the tests that start
# no emulator (tests/unit, tests/contract; a test that drives the embedded stack is marked e2e and left out even
# there), all at once. make test runs everything.
CHECK_TESTS ?= tests/unit tests/contract
check:
	$(MAKE) --no-print-directory -j 5 --output-sync=target lint types lint-cfn lint-asl fast-tests

fast-tests: setup
	$(VENV)/bin/pytest -q -m "not e2e" $(CHECK_TESTS) $(PYTEST_ARGS)

# Test files spread over worker processes (pytest-xdist), a whole file per worker: the e2e modules share one embedded
# stack per module, and each worker is its own process, so stacks never meet. PYTEST_WORKERS=0 runs in this process.
PYTEST_WORKERS ?= 2
test: checks
	$(VENV)/bin/pytest --durations=20 $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadfile) $(PYTEST_ARGS)

# Every hand-written Allow statement used by some test: the suite records what its e2e stacks' IAM check allowed,
# then tests/contract/test_exercised_grants.py checks the recording. Not part of make test yet: the smoke pull's
# repository grants are used over the emulator's registry endpoint, which records nothing (see the closing note).
IAM_EXERCISED := $(CURDIR)/.pytest_cache/iam-exercised.jsonl
.PHONY: test-grants
test-grants: setup
	@mkdir -p .pytest_cache && rm -f $(IAM_EXERCISED)
	PULLTHROUGH_IAM_EXERCISED=$(IAM_EXERCISED) $(VENV)/bin/pytest -q -n 2 --dist loadfile tests/e2e
	PULLTHROUGH_IAM_EXERCISED=$(IAM_EXERCISED) PULLTHROUGH_IAM_CHECK=1 $(VENV)/bin/pytest -q tests/contract/test_exercised_grants.py

demo: setup sam-tools
	$(PY) -m local.demo

local: setup sam-tools
	$(PY) -m local.serve $(if $(VERBOSE),--verbose)

SWEEP_ARGS ?=
sweep: setup
	$(PY) -m local.sweep $(SWEEP_ARGS)

clean:
	rm -rf .venv .tools .aws-sam node_modules .pytest_cache .mypy_cache .ruff_cache
