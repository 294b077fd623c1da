"""The generated references stay true: docs/rules.md is what `make docs` writes from the request models."""

from __future__ import annotations

from local import rules_doc
from local.openapi_doc import served_document
from pullthrough.models import RuleRequest


def test_the_checked_in_rule_reference_is_what_make_docs_writes() -> None:
    assert rules_doc.render(served_document()) == rules_doc.DOCUMENT.read_text(), "docs/rules.md is stale: make docs"


def test_the_rule_reference_names_every_request_field_with_its_default() -> None:
    text = rules_doc.DOCUMENT.read_text()
    section = text.split("## RuleRequest", 1)[1].split("\n## ", 1)[0]
    rows = {line.split("|")[1].strip(" `"): line.split("|") for line in section.splitlines() if line.startswith("| `")}
    assert set(rows) == set(RuleRequest.model_fields)
    for name, field in RuleRequest.model_fields.items():
        assert (rows[name][3].strip() == "yes") == field.is_required(), name
    assert "| `retainOnAccountRemoval` | boolean |  | `false` |" in text
