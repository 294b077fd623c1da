"""The embedded stack's Organization and the other accounts: the seeded OUs and members, the execution role in each
member as target-account.yaml creates it, the emulator's STS refusing like AWS, the IAM check on assumed sessions,
and Organizations' events reaching the app's bus when accounts move or join."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local import organization
from local.iam_policies import Statement
from local.organization import OrganizationError
from local.serve import banner
from local.stack import EmbeddedStack
from pullthrough import aws
from pullthrough.adapters.secrets import SecretStore
from pullthrough.exceptions import ExecutionRoleUnavailable

REGION = "eu-west-1"


@pytest.fixture(scope="module")
def org(stack: EmbeddedStack) -> organization.Organization:
    assert stack.organization is not None
    return stack.organization


def accounts_in(stack: EmbeddedStack, parent: str) -> set[str]:
    pages = stack.client("organizations").get_paginator("list_accounts_for_parent").paginate(ParentId=parent)
    return {account["Id"] for page in pages for account in page["Accounts"]}


ROOT_KEYS = {"AccessKeyId": "testing", "SecretAccessKey": "testing"}  # the stack's own: the home account's root


def client_as(
    stack: EmbeddedStack, service: str, credentials: dict[str, Any] | None = None, region: str = REGION
) -> Any:
    """A client signing with STS-shaped ``credentials`` (default: whatever the environment holds right now)."""
    keys = credentials or {}
    return boto3.session.Session().client(  # type: ignore[call-overload]
        service,
        region_name=region,
        endpoint_url=stack.endpoint_url,
        aws_access_key_id=keys.get("AccessKeyId"),
        aws_secret_access_key=keys.get("SecretAccessKey"),
        aws_session_token=keys.get("SessionToken"),
    )


def sts_as(stack: EmbeddedStack, credentials: dict[str, Any] | None = None) -> Any:
    return client_as(stack, "sts", credentials, stack.region)


def assume_as_function(stack: EmbeddedStack, role_arn: str, logical_id: str = "StoreSecretFunction") -> dict[str, Any]:
    """AssumeRole signed with ``logical_id``'s own credentials, as pullthrough.aws does (source identity included)."""
    with stack.running_as(logical_id):
        sts = sts_as(stack)
        granted: dict[str, Any] = sts.assume_role(
            RoleArn=role_arn, RoleSessionName="rollout-1234", SourceIdentity="pullthrough"
        )
    return granted


def denied(call: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as raised:
        call()
    return dict(raised.value.response)


# -- the seeded organization ---------------------------------------------------------------------------------------


def test_the_home_account_manages_an_organization_of_two_ous_under_the_root_and_one_inside(
    stack: EmbeddedStack, org: organization.Organization
) -> None:
    orgs = stack.client("organizations")
    assert orgs.describe_organization()["Organization"]["MasterAccountId"] == stack.account_id == org.management_account
    assert org.root_id == orgs.list_roots()["Roots"][0]["Id"]
    top = orgs.list_organizational_units_for_parent(ParentId=org.root_id)["OrganizationalUnits"]
    assert {ou["Name"]: ou["Id"] for ou in top} == {name: org.ous[name] for name in ("workloads", "sandbox", "legacy")}
    inner = orgs.list_organizational_units_for_parent(ParentId=org.ous["workloads"])["OrganizationalUnits"]
    assert [(ou["Name"], ou["Id"]) for ou in inner] == [("payments", org.ous["payments"])]


def test_each_ou_holds_exactly_its_member_accounts(stack: EmbeddedStack, org: organization.Organization) -> None:
    members = org.members
    assert accounts_in(stack, org.ous["workloads"]) == {members["workload-a"], members["workload-b"]}
    assert accounts_in(stack, org.ous["payments"]) == {members["payments-a"]}
    assert accounts_in(stack, org.ous["sandbox"]) == {members["sandbox-a"], members["sandbox-b"]}
    assert accounts_in(stack, org.ous["legacy"]) == {members["legacy-no-role"]}
    assert org.account_without_role == members["legacy-no-role"]
    assert len(set(members.values())) == 6 and stack.account_id not in members.values()


def test_make_local_prints_the_organization_with_its_account_ids(
    stack: EmbeddedStack, org: organization.Organization
) -> None:
    printed = banner(stack, [])
    members = org.members
    assert f"organization {org.id}: management account 123456789012, root {org.root_id}" in printed
    assert f"workloads {org.ous['workloads']} (under the root): workload-a {members['workload-a']}, " in printed
    assert f"payments {org.ous['payments']} (inside workloads): payments-a {members['payments-a']}" in printed
    assert (
        f"legacy {org.ous['legacy']} (under the root): legacy-no-role {members['legacy-no-role']} (no role)" in printed
    )
    assert f"sandbox-a {members['sandbox-a']} (no role)" not in printed


def test_every_member_but_one_has_the_execution_role_exactly_as_target_account_yaml_creates_it(
    stack: EmbeddedStack, org: organization.Organization
) -> None:
    for account in org.accounts_with_role:
        iam = stack.client("iam", account=account)
        expected = stack.execution_role(account)
        role = iam.get_role(RoleName="PullthroughExecutionRole")["Role"]
        assert role["Arn"] == expected.arn == f"arn:aws:iam::{account}:role/PullthroughExecutionRole"
        assert role["AssumeRolePolicyDocument"] == expected.trust_policy
        names = iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]
        held = {n: iam.get_role_policy(RoleName=role["RoleName"], PolicyName=n)["PolicyDocument"] for n in names}
        assert held == expected.policies
    # The stack deploys it for this organization: the trust names the organization and the functions' path.
    trust = stack.execution_role(org.members["workload-a"]).trust_policy["Statement"][0]["Condition"]
    assert trust["StringEquals"] == {"aws:PrincipalOrgID": org.id}
    assert trust["ArnLike"] == {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/pullthrough/*"}
    no_role = denied(
        lambda: stack.client("iam", account=org.account_without_role).get_role(RoleName="PullthroughExecutionRole")
    )
    assert no_role["Error"]["Code"] == "NoSuchEntity"


def test_the_functions_roles_live_under_the_path_the_execution_role_trusts(stack: EmbeddedStack) -> None:
    assert stack.function_role_path == "/pullthrough/"
    for logical_id, arn in stack.function_role_arns.items():
        assert arn == f"arn:aws:iam::123456789012:role/pullthrough/pullthrough-{logical_id}Role"
        with stack.running_as(logical_id):
            identity = sts_as(stack).get_caller_identity()
        assert (
            identity["Arn"]
            == f"arn:aws:sts::123456789012:assumed-role/pullthrough-{logical_id}Role/{stack.function_names[logical_id]}"
        )


def test_the_apps_own_session_signs_each_call_as_the_function_making_it(stack: EmbeddedStack) -> None:
    # One boto3 session serves every function in this process (one per process on Lambda): it must not keep the
    # credentials of whichever function created it.
    aws.reset()
    for logical_id in ("CreateRuleFunction", "ApplyTemplateFunction", "CreateRuleFunction"):
        with stack.running_as(logical_id):
            identity = aws.client("sts", stack.region).get_caller_identity()
        assert identity["Arn"].split("/")[1] == f"pullthrough-{logical_id}Role"
    outside = aws.client("sts", stack.region).get_caller_identity()  # the process's own (dummy) credentials
    assert "assumed-role" not in outside["Arn"] and outside["Account"] == stack.account_id


# -- the emulator's STS refuses like AWS ---------------------------------------------------------------------------


def test_assuming_a_role_that_does_not_exist_is_access_denied(
    stack: EmbeddedStack, org: organization.Organization
) -> None:
    role = f"arn:aws:iam::{org.account_without_role}:role/PullthroughExecutionRole"
    error = denied(lambda: assume_as_function(stack, role))
    assert error["Error"]["Code"] == "AccessDenied"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
    caller = (
        "arn:aws:sts::123456789012:assumed-role/pullthrough-StoreSecretFunctionRole/pullthrough-StoreSecretFunction"
    )
    assert (
        error["Error"]["Message"] == f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: {role}"
    )


def test_a_caller_outside_the_functions_path_is_access_denied(
    stack: EmbeddedStack, org: organization.Organization
) -> None:
    role = stack.execution_role(org.members["workload-a"]).arn
    # The home account's root (the stack's own credentials: what a test with dummy credentials signs as)
    root = denied(lambda: sts_as(stack, ROOT_KEYS).assume_role(RoleArn=role, RoleSessionName="root"))
    assert root["Error"]["Code"] == "AccessDenied"
    assert root["Error"]["Message"].startswith("User: arn:aws:iam::123456789012:root is not authorized")
    # A role of the home account under another path, even one whose name looks like a function's
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}
        ],
    }
    stack.client("iam").create_role(
        RoleName="pullthrough-Impostor", Path="/elsewhere/", AssumeRolePolicyDocument=json.dumps(trust)
    )
    impostor = sts_as(stack, ROOT_KEYS).assume_role(
        RoleArn="arn:aws:iam::123456789012:role/elsewhere/pullthrough-Impostor", RoleSessionName="impostor"
    )
    error = denied(lambda: sts_as(stack, impostor["Credentials"]).assume_role(RoleArn=role, RoleSessionName="impostor"))
    assert error["Error"]["Code"] == "AccessDenied"
    assert "assumed-role/pullthrough-Impostor/impostor is not authorized" in error["Error"]["Message"]


def test_a_trusted_function_gets_credentials_that_act_in_the_member_account(
    stack: EmbeddedStack, org: organization.Organization
) -> None:
    account = org.members["payments-a"]
    granted = assume_as_function(stack, stack.execution_role(account).arn, "CreateRuleFunction")
    assert (
        granted["AssumedRoleUser"]["Arn"]
        == f"arn:aws:sts::{account}:assumed-role/PullthroughExecutionRole/rollout-1234"
    )
    secrets = client_as(stack, "secretsmanager", granted["Credentials"])
    secrets.create_secret(
        Name="ecr-pullthroughcache/made-in-payments",
        SecretString="{}",
        Tags=[{"Key": "managed-by", "Value": "pullthrough"}],
    )

    def names(client: Any) -> set[str]:
        return {s["Name"] for s in client.list_secrets()["SecretList"]}

    assert "ecr-pullthroughcache/made-in-payments" in names(stack.client("secretsmanager", REGION, account=account))
    assert "ecr-pullthroughcache/made-in-payments" not in names(stack.client("secretsmanager", REGION))
    assert "ecr-pullthroughcache/made-in-payments" not in names(
        stack.client("secretsmanager", REGION, account=org.members["workload-a"])
    )


# -- the IAM check on assumed sessions -----------------------------------------------------------------------------


@pytest.fixture
def own_denials(stack: EmbeddedStack) -> Iterator[list[str]]:
    """The denials a test provokes on purpose, taken out of the module's no-denial check."""
    assert stack.iam is not None
    before = len(stack.iam.denials)
    made: list[str] = []
    yield made
    made.extend(stack.iam.denials[before:])
    del stack.iam.denials[before:]


def test_a_call_outside_the_execution_roles_policy_is_denied_and_recorded(
    stack: EmbeddedStack, org: organization.Organization, own_denials: list[str]
) -> None:
    assert stack.iam is not None
    account = org.members["workload-b"]
    role = stack.execution_role(account).arn
    granted = assume_as_function(stack, role)
    keys = granted["Credentials"]
    session = boto3.session.Session(keys["AccessKeyId"], keys["SecretAccessKey"], keys["SessionToken"])
    stack.iam.attach(session, role)  # what pullthrough.aws does with each session it assumes
    secrets = session.client("secretsmanager", region_name=REGION, endpoint_url=stack.endpoint_url)
    ecr = session.client("ecr", region_name=REGION, endpoint_url=stack.endpoint_url)
    with stack.running_as("StoreSecretFunction"):
        assert ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"] == []  # granted
        error = denied(lambda: secrets.create_secret(Name="team/not-ours", SecretString="{}"))
    expected = (
        f"IAM check: PullthroughExecutionRole (in {account}, assumed by StoreSecretFunction) is not allowed "
        f"secretsmanager:CreateSecret on arn:aws:secretsmanager:{REGION}:{account}:secret:team/not-ours: "
        "no statement allows it"
    )
    assert error["Error"] == {"Code": "AccessDeniedException", "Message": expected}
    assert stack.iam.denials[-1] == expected
    assert stack.client("secretsmanager", REGION, account=account).list_secrets()["SecretList"] == []


@pytest.fixture
def may_assume_execution_roles(stack: EmbeddedStack) -> Iterator[None]:
    """StoreSecretFunction's grant to assume the execution roles, for this test only: template.yaml's own grant is
    the lead's change (harmless to add twice once it is there)."""
    assert stack.iam is not None
    grant = Statement(
        sid="AssumeExecutionRoles",
        effect="Allow",
        actions=("sts:AssumeRole", "sts:SetSourceIdentity"),
        resources=(f"arn:aws:iam::*:role/{stack.execution_role_name}",),
    )
    saved = stack.iam.statements
    stack.iam.statements = {**saved, "StoreSecretFunction": [*saved["StoreSecretFunction"], grant]}
    yield
    stack.iam.statements = saved


def test_the_apps_clients_act_in_member_accounts_through_the_role_and_fail_clearly_without_it(
    stack: EmbeddedStack, org: organization.Organization, may_assume_execution_roles: None, own_denials: list[str]
) -> None:
    account = org.members["sandbox-a"]
    with stack.running_as("StoreSecretFunction"):
        secrets = aws.client("secretsmanager", REGION, account=account, session_name="rollout-5678")
        SecretStore(secrets).create("ecr-pullthroughcache/through-the-app", "{}", description="made by the app")
        refused = denied(lambda: secrets.delete_secret(SecretId="team/not-ours"))
        with pytest.raises(ExecutionRoleUnavailable) as unavailable:
            aws.client("secretsmanager", REGION, account=org.account_without_role, session_name="rollout-5678")
    listed = stack.client("secretsmanager", REGION, account=account).list_secrets()["SecretList"]
    assert [s["Name"] for s in listed] == ["ecr-pullthroughcache/through-the-app"]
    assert (
        "PullthroughExecutionRole (in " + account + ", assumed by StoreSecretFunction) is not allowed"
        in (refused["Error"]["Message"])
    )
    assert stack.iam is not None and stack.iam.denials[-1] == refused["Error"]["Message"]  # recorded
    assert str(unavailable.value) == (
        f"PullthroughExecutionRole cannot be assumed in {org.account_without_role} (AccessDenied)"
    )


# -- accounts moving and joining -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def org_events(stack: EmbeddedStack) -> Any:
    """Receives every aws.organizations event on the app's bus (an SQS queue behind a rule)."""
    sqs = stack.client("sqs")
    queue = sqs.create_queue(QueueName="org-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = stack.client("events")
    pattern = {"source": ["aws.organizations"]}
    events.put_rule(Name="test-org-events", EventBusName=stack.event_bus_name, EventPattern=json.dumps(pattern))
    events.put_targets(Rule="test-org-events", EventBusName=stack.event_bus_name, Targets=[{"Id": "q", "Arn": arn}])

    def received() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        for message in messages:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        return [json.loads(m["Body"]) for m in messages]

    return received


def test_a_new_account_joins_with_the_role_and_the_app_hears_create_account_result_then_move_account(
    stack: EmbeddedStack, org: organization.Organization, org_events: Any
) -> None:
    account = stack.create_member_account("joiner", org.ous["workloads"])
    assert org.members["joiner"] == account
    assert account in accounts_in(stack, org.ous["workloads"])
    assert stack.client("iam", account=account).get_role(RoleName="PullthroughExecutionRole")["Role"]["Arn"]
    created, moved = org_events()
    assert (created["source"], created["detail-type"]) == ("aws.organizations", "AWS Service Event via CloudTrail")
    assert created["detail"]["eventName"] == "CreateAccountResult"
    assert created["detail"]["serviceEventDetails"]["createAccountStatus"] == {
        "accountId": account,
        "accountName": "joiner",
        "state": "SUCCEEDED",
    }
    assert (moved["detail-type"], moved["detail"]["eventName"]) == ("AWS API Call via CloudTrail", "MoveAccount")
    assert moved["detail"]["requestParameters"] == {
        "accountId": account,
        "sourceParentId": org.root_id,
        "destinationParentId": org.ous["workloads"],
    }


def test_an_account_moved_between_ous_is_moved_in_organizations_and_reported_on_the_bus(
    stack: EmbeddedStack, org: organization.Organization, org_events: Any
) -> None:
    account = stack.create_member_account("mover", org.root_id, with_role=False)
    assert account in org.accounts_without_role and account in accounts_in(stack, org.root_id)
    [created] = org_events()  # left in the root: no move
    assert created["detail"]["eventName"] == "CreateAccountResult"
    stack.move_account(account, org.ous["sandbox"])
    assert account in accounts_in(stack, org.ous["sandbox"]) and account not in accounts_in(stack, org.root_id)
    [moved] = org_events()
    assert (moved["source"], moved["detail-type"]) == ("aws.organizations", "AWS API Call via CloudTrail")
    assert moved["detail"]["eventSource"] == "organizations.amazonaws.com"
    assert moved["detail"]["requestParameters"] == {
        "accountId": account,
        "sourceParentId": org.root_id,
        "destinationParentId": org.ous["sandbox"],
    }


def test_moving_or_creating_with_unknown_ids_is_refused_before_anything_changes(
    stack: EmbeddedStack, org: organization.Organization, org_events: Any
) -> None:
    with pytest.raises(OrganizationError, match="999999999999 is not a member account"):
        stack.move_account("999999999999", org.ous["sandbox"])
    before = dict(org.members)
    with pytest.raises(OrganizationError, match="no organizational unit ou-nope"):
        stack.create_member_account("lost", "ou-nope-12345678")
    with pytest.raises(OrganizationError, match="exists already"):
        stack.create_member_account("workload-a", org.ous["sandbox"])
    assert org.members == before
    assert len(stack.client("organizations").list_accounts()["Accounts"]) == len(before) + 1  # + the management
    assert org_events() == []
