# ASL checks: npm asl-validator (pinned in package.json / package-lock.json).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	@touch $@

.PHONY: lint-asl
lint-asl: node_modules/.installed
	@for f in statemachine/*.asl.json; do npx --no-install asl-validator --json-path "$$f" || exit 1; done
