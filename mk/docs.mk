# The OpenAPI document (docs/openapi.json) and the rule request reference generated from it (docs/rules.md),
# checked in so they can be read without calling the (IAM-signed) deployed API; tests fail when they are stale.
.PHONY: docs
docs: setup
	$(PY) -m local.openapi_doc
	$(PY) -m local.rules_doc
