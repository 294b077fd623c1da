"""The app's home-region resources on moto (table, state machine, bus spy) and API Gateway events."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from tests.support import ACCOUNT, HOME, FakeContext, create_app_table, load_handler

API = load_handler("api")


@dataclass
class AppEnv:
    table: str
    state_machine_arn: str
    events_queue_url: str

    def executions(self) -> list[Any]:
        sfn = boto3.client("stepfunctions", region_name=HOME)
        return sfn.list_executions(stateMachineArn=self.state_machine_arn)["executions"]

    def execution_input(self, rollout_id: str) -> dict[str, Any]:
        sfn = boto3.client("stepfunctions", region_name=HOME)
        arn = self.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{rollout_id}"
        return json.loads(sfn.describe_execution(executionArn=arn)["input"])

    def emitted(self) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs", region_name=HOME)
        got = sqs.receive_message(QueueUrl=self.events_queue_url, MaxNumberOfMessages=10)
        return [json.loads(m["Body"]) for m in got.get("Messages", [])]


def provision(monkeypatch: pytest.MonkeyPatch) -> AppEnv:
    """Create the table, a (non-executing) state machine and an SQS spy on the app's events; set the env."""
    create_app_table("pullthrough-test")
    sfn = boto3.client("stepfunctions", region_name=HOME)
    machine = sfn.create_state_machine(
        name="rollout",
        definition=json.dumps({"StartAt": "Wait", "States": {"Wait": {"Type": "Pass", "End": True}}}),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn",
    )["stateMachineArn"]
    sqs = boto3.client("sqs", region_name=HOME)
    queue = sqs.create_queue(QueueName="events-spy")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = boto3.client("events", region_name=HOME)
    events.put_rule(Name="spy", EventPattern=json.dumps({"source": ["pullthrough"]}))
    events.put_targets(Rule="spy", Targets=[{"Id": "q", "Arn": queue_arn}])
    monkeypatch.setenv("TABLE_NAME", "pullthrough-test")
    monkeypatch.setenv("STATE_MACHINE_ARN", machine)
    monkeypatch.setenv("EVENT_BUS_NAME", "default")
    monkeypatch.setenv("SMOKE_PULL_FUNCTION_ARN", "arn:aws:lambda:us-east-1:123456789012:function:smoke-pull:live")
    monkeypatch.setenv("HOME_ACCOUNT_ID", "123456789012")  # as template.yaml's Globals give every function
    return AppEnv("pullthrough-test", machine, queue)


def api(
    method: str,
    path: str,
    body: Any = None,
    *,
    raw: str | None = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    binary: bytes | None = None,
) -> tuple[int, Any]:
    """Call the API function with an API Gateway REST proxy event; returns (status, parsed body).

    ``binary``: a body API Gateway passes base64-encoded (bytes that are not UTF-8 text).
    """
    event = {
        "httpMethod": method,
        "path": path,
        "resource": path,
        "headers": {"content-type": "application/json", **(headers or {})},
        "multiValueHeaders": {},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None,
        "body": raw if raw is not None else (json.dumps(body) if body is not None else None),
        "isBase64Encoded": binary is not None,
        "requestContext": {"requestId": "test", "stage": "v1", "path": path, "httpMethod": method},
    }
    if binary is not None:
        event["body"] = base64.b64encode(binary).decode("ascii")
    answer = API.handler(event, FakeContext())
    text = answer["body"]
    try:
        return answer["statusCode"], json.loads(text)
    except ValueError:
        return answer["statusCode"], text


@dataclass(frozen=True)
class Member:
    """A member account of an organization the home account manages, with pullthrough's execution role."""

    id: str

    def client(self, service: str, region: str = HOME) -> Any:
        """A client acting in the account as its administrator (Organizations' OrganizationAccountAccessRole)."""
        granted = boto3.client("sts", region_name=HOME).assume_role(
            RoleArn=f"arn:aws:iam::{self.id}:role/OrganizationAccountAccessRole", RoleSessionName="by-hand"
        )["Credentials"]
        session = boto3.session.Session(
            aws_access_key_id=granted["AccessKeyId"],
            aws_secret_access_key=granted["SecretAccessKey"],
            aws_session_token=granted["SessionToken"],
        )
        return session.client(service, region_name=region)  # type: ignore[call-overload]


def member_account(name: str = "member") -> Member:
    """A member account of the moto organization (created if need be) whose PullthroughExecutionRole trusts the home
    account, as target-account.yaml would make it (the function roles' path and the IAM check are the embedded
    stack's business: tests/e2e/). moto refuses a missing role once the embedded stack's trust check is installed
    in the process, as it is in make test."""
    orgs = boto3.client("organizations", region_name=HOME)
    try:
        orgs.describe_organization()
    except orgs.exceptions.AWSOrganizationsNotInUseException:
        orgs.create_organization(FeatureSet="ALL")
    made = orgs.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]
    account = Member(made["AccountId"])
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
            }
        ],
    }
    account.client("iam").create_role(RoleName="PullthroughExecutionRole", AssumeRolePolicyDocument=json.dumps(trust))
    return account


def organization_members(*ids: str) -> None:
    """Make ``ids`` ACTIVE member accounts of the home account's moto Organization (made if need be): pullthrough
    targets only accounts of its Organization. moto picks the ids of the accounts it creates, so each created
    account takes a wanted id instead."""
    from moto.organizations.models import organizations_backends

    orgs = boto3.client("organizations", region_name=HOME)
    try:
        orgs.describe_organization()
    except orgs.exceptions.AWSOrganizationsNotInUseException:
        orgs.create_organization(FeatureSet="ALL")
    backend = organizations_backends[ACCOUNT]["aws"]
    for wanted in ids:
        made = orgs.create_account(AccountName=f"member-{wanted}", Email=f"{wanted}@example.com")
        made_id = made["CreateAccountStatus"]["AccountId"]
        backend.get_account_by_id(made_id).id = wanted
        organizations_backends.master_accounts[wanted] = organizations_backends.master_accounts.pop(made_id)
