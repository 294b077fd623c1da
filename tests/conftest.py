"""Shared fixtures: moto with the ECR pull-through extension, call counting, credentials kept fake."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator

import boto3
import botocore.loaders
import botocore.session
import pytest
from moto import mock_aws

from local.emulator import secretsmanager_fixes
from local.emulator.ecr_extension import install as install_ecr_extension
from pullthrough import aws
from tests.support import ACCOUNT, HOME, CallLog, count_app_calls, create_app_table

install_ecr_extension()
secretsmanager_fixes.install()


@functools.cache
def _shared_loader(search_path_string: str | None = None) -> botocore.loaders.Loader:
    """One botocore data loader per search path for the whole test process. Tests make hundreds of boto3 sessions
    (each test's moto, ``aws.reset()``); each new session's loader would parse the same service models, endpoints
    and partitions from disk again (about a quarter of the integration tests' time). Loaded models are read-only."""
    return botocore.loaders.create_loader(search_path_string)


botocore.session.create_loader = _shared_loader  # what every new Session's data_loader component calls


@pytest.fixture(autouse=True)
def _fake_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach a real AWS account."""
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", HOME)
    monkeypatch.setenv("AWS_REGION", HOME)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "pullthrough-test")


@pytest.fixture
def moto_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An in-process moto (ECR extension installed) with the app's table, where step snapshots are recorded;
    handlers' cached clients are reset around it."""
    aws.reset()
    with mock_aws():
        create_app_table("pullthrough-steps")
        monkeypatch.setenv("TABLE_NAME", "pullthrough-steps")
        yield
    aws.reset()


@pytest.fixture
def call_log(moto_aws: None, monkeypatch: pytest.MonkeyPatch) -> CallLog:
    """Records every call made through pullthrough.aws.client."""
    return count_app_calls(monkeypatch)


@pytest.fixture
def source_secret(moto_aws: None) -> str:
    """A home-region source secret holding docker-hub style credentials; returns its ARN."""
    sm = boto3.client("secretsmanager", region_name=HOME)
    made = sm.create_secret(
        Name="ecr-pullthroughcache/_source/docker-hub",
        SecretString=json.dumps({"username": "octocat", "accessToken": "token-one"}),
    )
    return made["ARN"]


__all__ = ["ACCOUNT", "HOME"]
