"""The Organizations client is partition-correct: Organizations has one endpoint per partition (us-east-1 in aws,
cn-northwest-1 in aws-cn, us-gov-west-1 in aws-us-gov), which botocore finds from any region of the partition. A
client pinned to us-east-1 would sign for the wrong partition wherever the app runs in China or GovCloud."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from pullthrough import aws
from pullthrough.wiring import rollouts_from_env


class _Sent(Exception):
    """Raised instead of sending: the request's URL and signing region were recorded."""


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str]]]:
    """(host, signing region) of every Organizations request the app's home session would send (none is sent)."""
    seen: list[tuple[str, str]] = []

    def record(request: Any, **_: Any) -> None:
        credential = str(request.headers.get("Authorization", b"").decode()).split("Credential=")[1]
        seen.append((request.url.split("/")[2], credential.split("/")[2]))
        raise _Sent

    def hook(session: boto3.session.Session, role: str | None) -> None:
        session.events.register("before-send.organizations", record)

    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "ORGANIZATIONS_REGION"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("TABLE_NAME", "pullthrough-test")
    aws.reset()
    aws.session_hooks.append(hook)
    yield seen
    aws.session_hooks.remove(hook)
    aws.reset()


@pytest.mark.parametrize(
    ("home", "host", "signed_for"),
    [
        ("eu-west-1", "organizations.us-east-1.amazonaws.com", "us-east-1"),
        ("cn-north-1", "organizations.cn-northwest-1.amazonaws.com.cn", "cn-northwest-1"),
        ("us-gov-east-1", "organizations.us-gov-west-1.amazonaws.com", "us-gov-west-1"),
    ],
)
def test_the_organizations_client_calls_its_partitions_endpoint(
    home: str, host: str, signed_for: str, sent: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", home)
    organization = rollouts_from_env(organization=True).organization
    assert organization is not None
    with pytest.raises(_Sent):
        organization.accounts_in(["r-ab12"])
    assert sent == [(host, signed_for)]
