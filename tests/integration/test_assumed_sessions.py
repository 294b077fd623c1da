"""Clients in other accounts act through an assumed execution role; a warm function keeps a bounded set of them."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from pullthrough import aws
from tests.integration.app_support import member_account


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
    assert (member, "r-0", aws._caller()) not in aws._assumed  # the oldest went first...
    assert not [key for key in aws._clients if key[4] == "r-0"]  # ...with its clients
    newest = (member, f"r-{aws.MAX_ASSUMED_SESSIONS + 9}", aws._caller())
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


def test_threads_needing_the_same_session_at_once_assume_the_role_once(member: str) -> None:
    assumed: list[str] = []

    def count(params: dict[str, Any], **_: Any) -> None:
        assumed.append(params["RoleArn"])

    def hooked(session: Any, role_arn: str | None) -> None:
        if role_arn is None:
            session.events.register("provide-client-params.sts.AssumeRole", count)

    aws.reset()
    aws.session_hooks.append(hooked)
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            made = list(
                pool.map(
                    lambda n: aws.client("ecr", f"eu-west-{1 + n % 3}", account=member, session_name="r-1"), range(8)
                )
            )
    finally:
        aws.session_hooks.remove(hooked)
    assert len({id(c) for c in made}) == 3
    assert len(assumed) == 1 and len(aws._assumed) == 1 and not aws._assuming


def access_key(client: Any) -> str:
    return str(client._request_signer._credentials.get_frozen_credentials().access_key)


def session_key(session: Any) -> str:
    return str(session.get_credentials().access_key)


def test_a_session_renewed_while_a_client_is_being_made_does_not_leave_the_old_credentials_cached(
    member: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thread 1 gets the session; before it makes its client, the session reaches its renewal time and another
    thread renews it. The client thread 1 makes (old credentials) must not become the cached one."""
    aws.client("ecr", "eu-west-1", account=member, session_name="r-1")
    real = aws._assumed_session

    def renewed_meanwhile(account: str, name: str) -> Any:
        got = real(account, name)
        if threading.current_thread().name == "first":
            session, _ = aws._assumed[(account, name, aws._caller())]
            aws._assumed[(account, name, aws._caller())] = (session, time.time() - 1)  # its renewal time has come
            other = threading.Thread(
                target=aws.client,
                args=("secretsmanager", "eu-west-1"),
                kwargs={"account": account, "session_name": name},
            )
            other.start()
            other.join()
        return got

    monkeypatch.setattr(aws, "_assumed_session", renewed_meanwhile)
    first = threading.Thread(
        target=aws.client,
        args=("secretsmanager", "eu-west-1"),
        kwargs={"account": member, "session_name": "r-1"},
        name="first",
    )
    first.start()
    first.join()
    monkeypatch.setattr(aws, "_assumed_session", real)

    current = aws._assumed[(member, "r-1", aws._caller())][0]
    cached = aws.client("secretsmanager", "eu-west-1", account=member, session_name="r-1")
    assert access_key(cached) == session_key(current)


def test_a_session_dropped_while_a_client_is_being_made_does_not_serve_its_client_later(
    member: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The session is evicted (more accounts than MAX_ASSUMED_SESSIONS) between getting it and making the client:
    a later call assumes the role again and gets a client of the new session."""
    real = aws._assumed_session
    seen: list[Any] = []

    def evicted_meanwhile(account: str, name: str) -> Any:
        got = real(account, name)
        seen.append(got)
        with aws._lock:
            aws._forget_sessions(keep=0)
        return got

    monkeypatch.setattr(aws, "_assumed_session", evicted_meanwhile)
    aws.client("ecr", "eu-west-1", account=member, session_name="r-1")
    monkeypatch.setattr(aws, "_assumed_session", real)

    later = aws.client("ecr", "eu-west-1", account=member, session_name="r-1")
    renewed = aws._assumed[(member, "r-1", aws._caller())][0]
    assert renewed is not seen[0]
    assert access_key(later) == session_key(renewed)
    assert aws.client("ecr", "eu-west-1", account=member, session_name="r-1") is later
