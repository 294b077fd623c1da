"""A deployment narrows what a request may make it do: roles only under PASSABLE_ROLE_PATH, credential secrets only
under CREDENTIAL_SECRET_PREFIX. A request outside them is a 422 naming the field, before anything is written."""

from __future__ import annotations

import boto3
import pytest

from tests.integration.app_support import AppEnv, api, provision

ACCOUNT = "123456789012"


@pytest.fixture
def narrowed(moto_aws: None, monkeypatch: pytest.MonkeyPatch) -> AppEnv:
    app = provision(monkeypatch)
    monkeypatch.setenv("PASSABLE_ROLE_PATH", "/ecr-pullthrough/")
    monkeypatch.setenv("CREDENTIAL_SECRET_PREFIX", "ecr-pullthroughcache/shared/")
    return app


def ecr_to_ecr(role: str) -> dict[str, object]:
    return {
        "upstreamRegistry": "ecr",
        "ecrRepositoryPrefix": "upstream-ecr",
        "upstreamRegistryUrl": f"{ACCOUNT}.dkr.ecr.us-west-2.amazonaws.com",
        "customRoleArn": role,
        "regions": ["us-east-1"],
    }


def test_a_role_outside_the_passable_path_is_refused(narrowed: AppEnv) -> None:
    status, answer = api("POST", "/rules", ecr_to_ecr(f"arn:aws:iam::{ACCOUNT}:role/admin"))
    assert status == 422 and answer["errors"][0]["field"] == "customRoleArn"
    assert "/ecr-pullthrough/" in answer["message"]
    assert narrowed.executions() == []


def test_a_role_under_the_passable_path_is_accepted(narrowed: AppEnv) -> None:
    status, answer = api("POST", "/rules", ecr_to_ecr(f"arn:aws:iam::{ACCOUNT}:role/ecr-pullthrough/pull"))
    assert status == 202, answer


def test_a_credential_secret_outside_the_allowed_prefix_is_refused(narrowed: AppEnv) -> None:
    sm = boto3.client("secretsmanager", region_name="us-east-1")
    arn = sm.create_secret(Name="ecr-pullthroughcache/team-a", SecretString='{"username":"u","accessToken":"t"}')["ARN"]
    body = {"upstreamRegistry": "docker-hub", "credentialSecretArn": arn, "regions": ["us-east-1"]}
    status, answer = api("POST", "/rules", body)
    assert status == 422 and answer["errors"][0]["field"] == "credentialSecretArn"
    assert "ecr-pullthroughcache/shared/" in answer["message"]
    assert narrowed.executions() == []
