"""Shared fixtures of the contract tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    """template.yaml as CloudFormation reads it (cfn-lint's decoder knows !Ref, !Sub, !GetAtt, !FindInMap)."""
    tpl, problems = decode(str(TEMPLATE))
    assert not problems, [str(p) for p in problems]
    assert tpl is not None
    return tpl
