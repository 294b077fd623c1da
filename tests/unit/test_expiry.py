"""A credential's expiry: the request fields, their normal form, and the days left (pullthrough.expiry)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pullthrough.expiry import days_left, requested_expiry
from pullthrough.models import RuleRequest, parse_model
from tests.support import CANARY
from tests.unit.test_models import refused, request

NAMED = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/team-token-AbCdEf"
NOW = datetime(2027, 1, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("2027-06-30T00:00:00Z", "2027-06-30T00:00:00Z"),
        ("2027-06-30", "2027-06-30T00:00:00Z"),
        ("2027-06-30T02:00:00+02:00", "2027-06-30T00:00:00Z"),
    ],
)
def test_an_inline_expiry_is_kept_in_utc_and_never_in_the_secret_value(given: str, kept: str) -> None:
    credentials = {"username": "octocat", "accessToken": CANARY, "expiresAt": given}
    parsed = parse_model(RuleRequest, request(credentials=credentials))
    assert requested_expiry(parsed) == (True, kept)
    assert parsed.credentials is not None and "expiresAt" not in parsed.credentials.secret_string()


def test_new_inline_credentials_without_expiry_say_it_is_unknown_and_a_named_secret_says_nothing() -> None:
    assert requested_expiry(parse_model(RuleRequest, request())) == (True, None)
    named = parse_model(RuleRequest, request(credentials=..., credentialSecretArn=NAMED))
    assert requested_expiry(named) == (False, None)
    dated = request(credentials=..., credentialSecretArn=NAMED, credentialExpiresAt="2027-06-30")
    assert requested_expiry(parse_model(RuleRequest, dated)) == (True, "2027-06-30T00:00:00Z")


def test_a_bad_expiry_is_refused_naming_its_field() -> None:
    bad = {"username": "octocat", "accessToken": CANARY, "expiresAt": "next tuesday"}
    assert refused(request(credentials=bad)).field == "credentials.expiresAt"
    assert refused(request(credentials=..., credentialSecretArn=NAMED, credentialExpiresAt=5)).field == (
        "credentialExpiresAt"
    )
    assert refused(request(credentialExpiresAt="2027-06-30")).field == "credentialExpiresAt"


def test_days_left_round_up_and_go_negative_once_passed() -> None:
    assert days_left("2027-01-11T11:00:00Z", NOW) == 10
    assert days_left("2027-01-01T13:00:00Z", NOW) == 1
    assert days_left("2027-01-01T12:00:00Z", NOW) == 0
    assert days_left("2026-12-30T12:00:00Z", NOW) == -2
    assert days_left("garbage", NOW) is None
