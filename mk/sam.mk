# mk/sam.mk: the AWS SAM CLI in its own tool environment, template lint, and `sam build`.
#
# Included by the Makefile, which defines PYTHON313 (path of a python3.13 executable) and UV (the uv command).
# aws-sam-cli pins boto3 exactly, so it lives in .tools/sam, never in the app's .venv.

SAM_VENV      := .tools/sam
SAM           := $(SAM_VENV)/bin/sam
SAM_STAMP     := $(SAM_VENV)/.installed
SAM_REQS      := tools/sam/requirements.txt
SAM_TEMPLATE  := template.yaml
SAM_BUILD_DIR := .aws-sam/build
SAM_CACHE_DIR := .aws-sam/cache
# cfn-lint comes with the app's dev dependencies (.venv); the Makefile's $(VENV)/.synced rule creates it.
CFN_LINT      ?= $(or $(VENV),.venv)/bin/cfn-lint
# No telemetry from CI or developer machines (and no network wait for it).
SAM_ENV       := SAM_CLI_TELEMETRY=0

# Order-only prerequisites that exist only in the full Makefile: uv as a file target when UV is a path
# (.tools/uv/bin/uv), and the synced .venv when VENV is defined. A plain `UV=uv` needs neither.
_SAM_UV_DEP   := $(if $(findstring /,$(UV)),$(UV))
_SAM_VENV_DEP := $(if $(VENV),$(VENV)/.synced)

.PHONY: sam-tools lint-cfn lint-template build

sam-tools: $(SAM_STAMP)

# Runs once; again only when the pinned requirements change (the stamp is older than them).
$(SAM_STAMP): $(SAM_REQS) | $(_SAM_UV_DEP)
	@test -x "$(PYTHON313)" || { echo "PYTHON313 must name a python3.13 executable (got '$(PYTHON313)')" >&2; exit 1; }
	rm -rf $(SAM_VENV)
	$(UV) venv --quiet --python $(PYTHON313) $(SAM_VENV)
	$(UV) pip install --quiet --python $(SAM_VENV)/bin/python --require-hashes -r $(SAM_REQS)
	@touch $@

# target-account.yaml and org-events.yaml: the templates users deploy in their other accounts (README, Many accounts).
# lint-cfn is cfn-lint alone (SAM transform included; make check's template check); lint-template adds SAM's own.
lint-cfn: | $(_SAM_VENV_DEP)
	$(CFN_LINT) $(SAM_TEMPLATE) target-account.yaml org-events.yaml

lint-template: lint-cfn $(SAM_STAMP) | $(_SAM_VENV_DEP)
	$(SAM_ENV) $(SAM) validate --lint --template-file $(SAM_TEMPLATE)

# No Docker: SAM's python builder (functions) and layers/common/Makefile (the layer: pip for arm64 wheels) need an
# executable named exactly python3.13 (with pip) on PATH. The directory of the interpreter PYTHON313 runs
# (sys.executable, so a pyenv shim resolves to the real one) goes first. Always runs: `sam build --cached`
# (samconfig.toml) reuses unchanged functions/layer by source hash, and on a clean clone there is no cache, so
# everything is built. Prints the layer's unpacked size (Lambda allows 250 MB for a function and its layers).
build: $(SAM_STAMP)
	@test -x "$(PYTHON313)" || { echo "PYTHON313 must name a python3.13 executable (got '$(PYTHON313)')" >&2; exit 1; }
	PATH="$$("$(PYTHON313)" -c 'import os, sys; print(os.path.dirname(sys.executable))'):$$PATH" \
	  $(SAM_ENV) $(SAM) build --template-file $(SAM_TEMPLATE) --build-dir $(SAM_BUILD_DIR) \
	  --cache-dir $(SAM_CACHE_DIR)
	@du -sh $(SAM_BUILD_DIR)/CommonLayer | sed 's/^/layer size (unpacked): /'
