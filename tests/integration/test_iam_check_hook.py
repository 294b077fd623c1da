"""The IAM check on the app's boto3 session: a call its function may not make fails like AWS fails it and never
reaches the service; an allowed call goes through untouched."""

from __future__ import annotations

import os
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError

from local.iam_check import IamCheck
from local.iam_policies import Statement
from local.invocation_scope import FunctionScope, entered
from pullthrough import aws
from pullthrough.adapters.secrets import SecretStore
from tests.support import ACCOUNT

REGION = "eu-west-1"
STORE_SECRET = FunctionScope("StoreSecretFunction", "pullthrough-StoreSecretFunction")
STATEMENTS = {
    "StoreSecretFunction": [
        Statement(
            sid="CreateRegionalSecretsTaggedAsOurs",
            effect="Allow",
            actions=("secretsmanager:CreateSecret", "secretsmanager:TagResource"),
            resources=(f"arn:aws:secretsmanager:*:{ACCOUNT}:secret:ecr-pullthroughcache/*",),
            conditions={"StringEquals": {"aws:RequestTag/managed-by": ("pullthrough",)}},
        )
    ]
}


@pytest.fixture
def check(moto_aws: None) -> Iterator[IamCheck]:
    # The functions' own credentials (moto's mock sets its own fake ones)
    made = IamCheck(STATEMENTS, account_id=ACCOUNT)
    aws.session_hooks.append(made.attach)
    aws.reset()
    try:
        yield made
    finally:
        aws.session_hooks.remove(made.attach)
        aws.reset()


def secret_names() -> list[str]:
    listed = boto3.client("secretsmanager", region_name=REGION).list_secrets()["SecretList"]
    return [secret["Name"] for secret in listed]


def test_a_granted_call_goes_through(check: IamCheck) -> None:
    with entered(STORE_SECRET):
        SecretStore(aws.client("secretsmanager", REGION)).create(
            "ecr-pullthroughcache/granted", "{}", description="tagged as ours"
        )
    assert secret_names() == ["ecr-pullthroughcache/granted"]
    assert check.denials == []


def test_a_call_the_function_may_not_make_fails_with_access_denied_and_never_reaches_the_service(
    check: IamCheck,
) -> None:
    with entered(STORE_SECRET), pytest.raises(ClientError) as raised:
        aws.client("secretsmanager", REGION).create_secret(Name="ecr-pullthroughcache/untagged", SecretString="{}")
    error = raised.value.response
    assert error["Error"]["Code"] == "AccessDeniedException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    expected = (
        "IAM check: StoreSecretFunction is not allowed secretsmanager:CreateSecret on "
        f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:ecr-pullthroughcache/untagged: no statement allows it"
    )
    assert error["Error"]["Message"] == expected
    assert check.denials == [expected]
    assert secret_names() == []


def test_a_call_outside_any_invocation_is_refused_too(check: IamCheck) -> None:
    with pytest.raises(ClientError) as raised:
        aws.client("secretsmanager", REGION).list_secrets()
    assert raised.value.response["Error"]["Code"] == "AccessDeniedException"
    assert check.denials == [
        "IAM check: secretsmanager:ListSecrets was called outside any function invocation (no policy applies)"
    ]


def test_calls_signed_with_other_credentials_are_another_principal_and_not_checked(
    check: IamCheck, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ASIAASSUMEDROLE")  # e.g. a role assumed in a target account
    aws.reset()
    with entered(STORE_SECRET):
        aws.client("secretsmanager", REGION).list_secrets()
    assert check.denials == []


def test_a_call_the_clients_own_handler_stops_is_never_checked(check: IamCheck) -> None:
    stopped = aws.client("secretsmanager", REGION)

    def refuse(**_: object) -> None:
        raise RuntimeError("refused before sending")

    stopped.meta.events.register("before-call", refuse)
    with entered(STORE_SECRET), pytest.raises(RuntimeError, match="refused before sending"):
        stopped.delete_secret(SecretId="ecr-pullthroughcache/x")
    assert check.denials == []
