# ASL checks: npm asl-validator (pinned in package.json / package-lock.json).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	@touch $@

# The partition is a DefinitionSubstitution (aws, aws-cn, aws-us-gov): the validator checks service-integration
# ARNs against their pattern, so it reads each definition with ${Partition} filled in.
.PHONY: lint-asl
lint-asl: node_modules/.installed
	@mkdir -p .aws-sam/asl
	@for f in statemachine/*.asl.json; do \
	  sed 's/\$${Partition}/aws/g' "$$f" > ".aws-sam/asl/$$(basename $$f)" && \
	  npx --no-install asl-validator --json-path ".aws-sam/asl/$$(basename $$f)" || exit 1; done
