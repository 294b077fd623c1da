"""Least privilege for every grant: each hand-written Allow statement is exercised by some test, or reviewed here.

The e2e stacks record which statement allowed each call (``local.iam_coverage``) when ``PULLTHROUGH_IAM_EXERCISED``
names a file: ``make test-grants`` runs the e2e tests with it set, then this module with PULLTHROUGH_IAM_CHECK=1.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from local.iam_check import EXECUTION_ROLE
from local.iam_coverage import ENV, hand_written_allows, recorded, unexercised


def test_every_hand_written_allow_statement_has_a_sid_of_its_own() -> None:
    grants = hand_written_allows()
    assert len(grants) >= 50
    assert all(sid for _, sid in grants), [owner for owner, sid in grants if not sid]
    assert len(grants) == len(set(grants)), sorted({g for g in grants if grants.count(g) > 1})
    assert {owner for owner, _ in grants} >= {"StoreSecretFunction", "CreateRuleFunction", EXECUTION_ROLE}


def test_unexercised_lists_the_grants_no_recorded_call_used_in_template_order() -> None:
    grants = [("A", "One"), ("A", "Two"), (EXECUTION_ROLE, "One")]
    assert unexercised({("A", "Two")}, grants) == [("A", "One"), (EXECUTION_ROLE, "One")]


def test_every_hand_written_allow_statement_is_exercised_by_a_test() -> None:
    """``make test-grants`` runs this after the e2e tests, with PULLTHROUGH_IAM_CHECK set: the recording is complete
    then (in any other run it may be partial, so the test skips)."""
    path = Path(os.environ.get(ENV, ""))
    if not os.environ.get("PULLTHROUGH_IAM_CHECK") or not path.is_file():
        pytest.skip(f"checked by make test-grants (the e2e tests with {ENV}=<file>, then this)")
    missing = unexercised(recorded(path))
    assert not missing, "no test exercises:\n" + "\n".join(f"{owner}: {sid}" for owner, sid in missing)
