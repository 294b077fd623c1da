"""AssumeRole into a target account: what STS answers decides whether the state machine retries.

Throttling and 5xx are transient (AwsTransientError, which the ASL retries); a refusal (AccessDenied: no role, or
one that does not trust pullthrough) is ExecutionRoleUnavailable, never retried; a connection or read timeout is
wrapped in AwsTransientError instead of escaping as a raw botocore error, and the drift sweep records it for that
target and goes on.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.stub import Stubber

from pullthrough import aws
from pullthrough import exceptions as ex
from pullthrough.drift.inventory import RULES, read_inventory
from tests.integration.app_support import member_account

HOME = "123456789012"


@pytest.fixture
def member(moto_aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("HOME_ACCOUNT_ID", HOME)
    return member_account("first").id


@pytest.mark.parametrize(
    ("code", "status", "raised"),
    [
        ("Throttling", 400, ex.AwsTransientError),
        ("InternalFailure", 500, ex.AwsTransientError),
        ("ServiceUnavailable", 503, ex.AwsTransientError),
        ("AccessDenied", 403, ex.ExecutionRoleUnavailable),
        ("RegionDisabledException", 403, ex.ExecutionRoleUnavailable),
    ],
)
def test_sts_errors_are_transient_only_when_sts_says_so(
    code: str, status: int, raised: type[ex.PullthroughError], moto_aws: None
) -> None:
    sts = boto3.client("sts", region_name="us-east-1")
    with Stubber(sts) as stub:
        stub.add_client_error("assume_role", service_error_code=code, http_status_code=status)
        with pytest.raises(ex.PullthroughError) as caught:
            aws._assume(sts, "210987654321", "r-1")
    assert type(caught.value) is raised  # the ASL matches the class name exactly
    assert code in caught.value.message and "210987654321" in caught.value.message


@pytest.fixture
def sts_times_out(member: str) -> Iterator[list[str]]:
    """Every AssumeRole call times out reading STS's answer (botocore's own ReadTimeoutError, retried by it)."""
    calls: list[str] = []

    def time_out(request: Any, **_: Any) -> None:
        calls.append(request.url)
        raise ReadTimeoutError(endpoint_url=request.url)

    def hook(session: boto3.session.Session, role: str | None) -> None:
        if role is None:  # the home session, which calls STS
            session.events.register("before-send.sts.AssumeRole", time_out)

    aws.reset()
    aws.session_hooks.append(hook)
    yield calls
    aws.session_hooks.remove(hook)
    aws.reset()


def test_a_read_timeout_from_sts_is_a_transient_domain_error_not_a_raw_botocore_one(
    member: str, sts_times_out: list[str]
) -> None:
    with pytest.raises(ex.AwsTransientError) as caught:
        aws.client("ecr", "eu-west-1", account=member, session_name="r-1")
    assert "ReadTimeoutError" in caught.value.message and member in caught.value.message
    assert sts_times_out, "STS was never called"


def test_the_drift_sweep_records_an_sts_timeout_for_that_target_and_goes_on(
    member: str, sts_times_out: list[str]
) -> None:
    found = read_inventory("eu-west-1", frozenset({RULES}), member)
    assert found.error is not None and found.error.startswith("AwsTransientError:")
    assert not found.role_unavailable  # it may work next time: not reported as a missing role
    assert read_inventory("eu-west-1", frozenset({RULES}), None).error is None  # the home account is still read
