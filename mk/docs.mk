# The OpenAPI document, checked in so it can be read without calling the (IAM-signed) deployed API.
.PHONY: docs
docs: setup
	$(PY) -m local.openapi_doc
