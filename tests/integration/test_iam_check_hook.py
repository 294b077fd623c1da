"""The IAM check on the app's boto3 session: a call its function may not make fails like AWS fails it and never
reaches the service; an allowed call goes through untouched."""

from __future__ import annotations

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


TARGET = "111122223333"
EXECUTION_ROLE = f"arn:aws:iam::{TARGET}:role/PullthroughExecutionRole"
EXECUTION_ROLE_STATEMENTS = [
    Statement(
        sid="KeepRegionalSecrets",
        effect="Allow",
        actions=("secretsmanager:DescribeSecret",),
        resources=(f"arn:aws:secretsmanager:*:{TARGET}:secret:ecr-pullthroughcache/*",),
    )
]


def test_a_session_of_an_execution_role_is_checked_against_that_role_in_its_account(check: IamCheck) -> None:
    check.role_statements = {EXECUTION_ROLE: EXECUTION_ROLE_STATEMENTS}.get
    session = boto3.session.Session()
    check.attach(session, EXECUTION_ROLE)
    secrets = session.client("secretsmanager", region_name=REGION)
    with entered(STORE_SECRET), pytest.raises(ClientError) as raised:
        secrets.describe_secret(SecretId="ecr-pullthroughcache/absent")  # allowed: moto answers it is not there
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with entered(STORE_SECRET), pytest.raises(ClientError) as raised:
        secrets.delete_secret(SecretId="ecr-pullthroughcache/x")
    expected = (
        f"IAM check: PullthroughExecutionRole (in {TARGET}, assumed by StoreSecretFunction) is not allowed "
        f"secretsmanager:DeleteSecret on arn:aws:secretsmanager:{REGION}:{TARGET}:secret:ecr-pullthroughcache/x: "
        "no statement allows it"
    )
    assert raised.value.response["Error"]["Message"] == expected
    assert check.denials == [expected]


def test_a_session_of_a_role_the_check_does_not_know_is_refused_everything(check: IamCheck) -> None:
    session = boto3.session.Session()
    check.attach(session, f"arn:aws:iam::{TARGET}:role/SomeoneElsesRole")
    with entered(STORE_SECRET), pytest.raises(ClientError) as raised:
        session.client("secretsmanager", region_name=REGION).list_secrets()
    assert raised.value.response["Error"]["Code"] == "AccessDeniedException"
    assert check.denials == [
        f"IAM check: SomeoneElsesRole (in {TARGET}, assumed by StoreSecretFunction) is not a role this stack "
        "created: secretsmanager:ListSecrets is not allowed"
    ]


def test_a_call_the_clients_own_handler_stops_is_never_checked(check: IamCheck) -> None:
    stopped = aws.client("secretsmanager", REGION)

    def refuse(**_: object) -> None:
        raise RuntimeError("refused before sending")

    stopped.meta.events.register("before-call", refuse)
    with entered(STORE_SECRET), pytest.raises(RuntimeError, match="refused before sending"):
        stopped.delete_secret(SecretId="ecr-pullthroughcache/x")
    assert check.denials == []
