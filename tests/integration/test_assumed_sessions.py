"""Clients in other accounts act through an assumed execution role; a warm function keeps a bounded set of them."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from pullthrough import aws
from tests.integration.app_support import member_account
from tests.support import CallLog


@pytest.fixture
def home(moto_aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME_ACCOUNT_ID", "123456789012")


@pytest.fixture
def member(home: None) -> str:
    """A member account with the execution role."""
    return member_account("first").id


def test_a_client_in_another_account_acts_there_and_the_home_account_needs_no_role(member: str) -> None:
    secrets = aws.client("secretsmanager", "eu-west-1", account=member, session_name="r-1")
    created = secrets.create_secret(Name="ecr-pullthroughcache/x", SecretString="{}")
    assert created["ARN"].split(":")[4] == member
    assert aws.client("secretsmanager", "eu-west-1", account="123456789012") is aws.client(
        "secretsmanager", "eu-west-1"
    )
    assert aws.client("secretsmanager", "eu-west-1", account=member, session_name="r-1") is secrets  # one session


def test_sessions_are_bounded_and_expired_ones_dropped_with_their_clients(member: str) -> None:
    for n in range(aws.MAX_ASSUMED_SESSIONS + 10):
        aws.client("ecr", "eu-west-1", account=member, session_name=f"r-{n}")
    assert len(aws._assumed) == aws.MAX_ASSUMED_SESSIONS
    assert (member, "r-0") not in aws._assumed  # the oldest went first...
    assert not [key for key in aws._clients if key[4] == "r-0"]  # ...with its clients
    newest = (member, f"r-{aws.MAX_ASSUMED_SESSIONS + 9}")
    old_secrets = aws.client("secretsmanager", "eu-west-1", account=member, session_name=newest[1])
    session, _ = aws._assumed[newest]
    aws._assumed[newest] = (session, time.time() - 1)  # its credentials are about to expire

    renewed = aws.client("ecr", "eu-west-1", account=member, session_name=newest[1])

    assert aws._assumed[newest][0] is not session and aws._assumed[newest][1] > time.time()
    assert renewed is aws.client("ecr", "eu-west-1", account=member, session_name=newest[1])
    # every client of the renewed session is new: one made before holds the old credentials
    assert aws.client("secretsmanager", "eu-west-1", account=member, session_name=newest[1]) is not old_secrets


def test_every_assumed_session_shares_the_home_sessions_service_models(member: str) -> None:
    second = member_account("second").id
    aws.client("ecr", "eu-west-1")
    aws.client("ecr", "eu-west-1", account=member, session_name="r-1")
    aws.client("ecr", "eu-west-1", account=second, session_name="r-1")
    assert len(aws._assumed) == 2
    assert aws._session is not None
    loader = aws._session._session.get_component("data_loader")
    assert all(s._session.get_component("data_loader") is loader for s, _ in aws._assumed.values())


def test_a_slow_assume_role_in_one_account_does_not_hold_up_another(member: str) -> None:
    """STS answers one account slowly (here: until released); a thread working in another account meanwhile gets
    its client at once. Under one process-wide lock it would wait for the slow call (up to 18 s on AWS)."""
    second = member_account("second").id
    slow_started, release = threading.Event(), threading.Event()

    def hold_the_first_account(params: dict[str, Any], **_: Any) -> None:
        if f"::{member}:" in params["RoleArn"]:
            slow_started.set()
            release.wait(10)

    def hooked(session: Any, role_arn: str | None) -> None:
        if role_arn is None:
            session.events.register("provide-client-params.sts.AssumeRole", hold_the_first_account)

    aws.session_hooks.append(hooked)
    try:
        with ThreadPoolExecutor(max_workers=1) as slow:
            first = slow.submit(aws.client, "ecr", "eu-west-1", account=member, session_name="r-1")
            assert slow_started.wait(5)
            started = time.monotonic()
            other = aws.client("ecr", "eu-west-1", account=second, session_name="r-1")
            waited = time.monotonic() - started
            release.set()
            assert first.result(5) is not other
        assert waited < 5, f"the other account's client waited {waited:.1f} s for the slow AssumeRole"
        assert other.describe_pull_through_cache_rules()["pullThroughCacheRules"] == []
    finally:
        release.set()
        aws.session_hooks.remove(hooked)


def test_threads_needing_the_same_session_at_once_assume_the_role_once(member: str, call_log: CallLog) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        made = list(
            pool.map(lambda n: aws.client("ecr", f"eu-west-{1 + n % 3}", account=member, session_name="r-1"), range(8))
        )
    assert len({id(c) for c in made}) == 3
    assert len(aws._assumed) == 1 and not aws._assuming
