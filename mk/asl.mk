# ASL checks, with the npm packages pinned in package.json / package-lock.json:
# - asl-validator: dangling Next, unreachable states, bad paths and types;
# - amazon-states-language-service (AWS's own, via tools/asl/validate.mjs): unknown fields, enum values, minimums.
# aws-local-stepfunctions (the second engine tests/contract/test_asl_second_engine.py runs the ASL on) asks for
# Node >= 22; npm ci only warns on Node 20 (EBADENGINE) and tests/asl_engine/run.mjs polyfills what it needs.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	@touch $@

# The partition is a DefinitionSubstitution (aws, aws-cn, aws-us-gov): the validator checks service-integration
# ARNs against their pattern, so it reads each definition with ${Partition} filled in.
.PHONY: lint-asl
lint-asl: node_modules/.installed setup
	@$(PY) tools/asl/generate.py --check
	@mkdir -p .aws-sam/asl
	@for f in statemachine/*.asl.json; do \
	  sed 's/\$${Partition}/aws/g' "$$f" > ".aws-sam/asl/$$(basename $$f)" && \
	  npx --no-install asl-validator --json-path ".aws-sam/asl/$$(basename $$f)" || exit 1; done
	@node tools/asl/validate.mjs .aws-sam/asl/*.asl.json

# The state machine is written by tools/asl/generate.py (the per-target states appear in two Maps); lint-asl fails
# when the committed JSON is not what it writes.
.PHONY: asl
asl: setup
	$(PY) tools/asl/generate.py
