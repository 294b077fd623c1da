"""The trust boundary on the embedded stack (issue 18): pullthrough's functions act only inside the Organization, and
a target account's execution role lets in only the exact function roles of the one stack it was deployed for.

The attempts an attacker would make are tried for real: a step invoked directly for an account outside the
Organization that holds a look-alike execution role trusting the whole home account (``local.organization``), and a
second stack's function role (samconfig's ``prod``) in the same home account.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local import organization
from local.iam_check import Call, ExecutionRole
from local.stack import EmbeddedStack
from tests.e2e.conftest import HOME_ACCOUNT, source_secret

REGION = "eu-west-1"
ROOT_KEYS = {"AccessKeyId": "testing", "SecretAccessKey": "testing"}  # the stack's own: the home account's root


@pytest.fixture(scope="module")
def org(stack: EmbeddedStack) -> organization.Organization:
    assert stack.organization is not None
    return stack.organization


def client_as(stack: EmbeddedStack, service: str, credentials: dict[str, Any], region: str = REGION) -> Any:
    return boto3.session.Session().client(  # type: ignore[call-overload]
        service,
        region_name=region,
        endpoint_url=stack.endpoint_url,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials.get("SessionToken"),
    )


def outside_secrets(stack: EmbeddedStack, org: organization.Organization) -> list[str]:
    """The secret names in the outside account, seen through its look-alike role (which trusts the home account)."""
    assert org.outside_account is not None
    role = f"arn:aws:iam::{org.outside_account}:role/{stack.execution_role_name}"
    granted = client_as(stack, "sts", ROOT_KEYS, stack.region).assume_role(RoleArn=role, RoleSessionName="look")
    secrets = client_as(stack, "secretsmanager", granted["Credentials"])
    return [s["Name"] for s in secrets.list_secrets()["SecretList"]]


def test_an_account_outside_the_organization_holds_a_look_alike_role_that_trusts_the_home_account(
    stack: EmbeddedStack, org: organization.Organization
) -> None:
    assert org.outside_account == organization.OUTSIDE_ACCOUNT
    assert org.outside_account not in org.members.values()
    accounts = stack.client("organizations").list_accounts()["Accounts"]
    assert org.outside_account not in {a["Id"] for a in accounts}
    assert outside_secrets(stack, org) == []  # the role lets the home account in: nothing but IAM stops a copy
    assert any("outside the organization: " + org.outside_account in line for line in org.summary())


def test_store_secret_invoked_directly_for_an_account_outside_the_organization_is_denied_and_writes_nothing(
    stack: EmbeddedStack, org: organization.Organization, own_denials: list[str]
) -> None:
    # Given: a team's source secret, and a task forged past the API (which refuses such an account)
    arn = source_secret(stack, "trust-outside", {"username": "team-user", "accessToken": "canary-outside-token"})
    task = {
        "rolloutId": "forged-outside-1",
        "region": REGION,
        "account": org.outside_account,
        "rule": {
            "ecrRepositoryPrefix": "trust-outside",
            "upstreamRegistry": "docker-hub",
            "upstreamRegistryUrl": "registry-1.docker.io",
        },
        "sourceSecretArn": arn,
    }
    # When: StoreSecret runs it
    answer, errored = stack.invoke("StoreSecretFunction", task)
    # Then: its AssumeRole is refused by its own policy (aws:ResourceOrgID), and no secret exists there
    assert errored, answer
    assert answer["errorType"] == "ExecutionRoleUnavailable", answer
    assert answer["errorMessage"] == (
        f"PullthroughExecutionRole cannot be assumed in {org.outside_account} (AccessDenied)"
    )
    assert "canary-outside-token" not in json.dumps(answer)
    assert outside_secrets(stack, org) == []
    assert stack.iam is not None
    outside = f"arn:aws:iam::{org.outside_account}:role/PullthroughExecutionRole"
    expected = f"IAM check: StoreSecretFunction is not allowed sts:AssumeRole on {outside}: no statement allows it"
    assert expected in stack.iam.denials


def test_every_function_that_acts_in_target_accounts_may_assume_the_role_in_members_only(
    stack: EmbeddedStack, org: organization.Organization
) -> None:
    assert stack.iam is not None
    member = stack.execution_role(org.members["payments-a"]).arn
    outside = f"arn:aws:iam::{org.outside_account}:role/{stack.execution_role_name}"
    for role_arn in stack.trusted_function_role_arns:
        (logical_id,) = [lid for lid, arn in stack.function_role_arns.items() if arn == role_arn]

        def assume(role: str) -> Call:
            return Call(
                "sts", "AssumeRole", {"RoleArn": role, "SourceIdentity": "pullthrough"}, stack.region, HOME_ACCOUNT
            )

        assert stack.iam.check(logical_id, assume(member)) == [], logical_id
        refused = stack.iam.check(logical_id, assume(outside))
        assert [m.split(": ", 2)[1] for m in refused] == [
            f"{logical_id} is not allowed sts:AssumeRole on {outside}",
            f"{logical_id} is not allowed sts:SetSourceIdentity on {outside} (needed by sts:AssumeRole)",
        ], refused


def role_credentials(stack: EmbeddedStack, name: str, path: str = "/pullthrough/") -> dict[str, Any]:
    """Session credentials of a new home-account role ``path``+``name`` (made trusting the home account's root)."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{HOME_ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
        ],
    }
    made = stack.client("iam").create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=json.dumps(trust))
    granted = client_as(stack, "sts", ROOT_KEYS, stack.region).assume_role(
        RoleArn=made["Role"]["Arn"], RoleSessionName="second-stack"
    )
    return dict(granted["Credentials"])


def test_a_second_stacks_function_role_cannot_assume_this_stacks_execution_role(
    stack: EmbeddedStack, org: organization.Organization
) -> None:
    # Given: another pullthrough stack in the same account (samconfig's prod), its roles under the same path
    prod = role_credentials(stack, "pullthrough-prod-StoreSecretFunctionRole")
    role = stack.execution_role(org.members["sandbox-b"]).arn
    # When: it assumes this stack's execution role exactly as the functions do
    with pytest.raises(ClientError) as refused:
        client_as(stack, "sts", prod, stack.region).assume_role(
            RoleArn=role, RoleSessionName="rollout-prod", SourceIdentity="pullthrough"
        )
    # Then: AccessDenied; this stack's own function gets in
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert "assumed-role/pullthrough-prod-StoreSecretFunctionRole/second-stack" in str(refused.value)
    with stack.running_as("StoreSecretFunction"):
        sts = boto3.session.Session().client("sts", region_name=stack.region, endpoint_url=stack.endpoint_url)
        granted = sts.assume_role(RoleArn=role, RoleSessionName="rollout-own", SourceIdentity="pullthrough")
    assert granted["AssumedRoleUser"]["Arn"].endswith(":assumed-role/PullthroughExecutionRole/rollout-own")


def test_the_functions_own_roles_without_the_source_identity_are_refused(
    stack: EmbeddedStack, org: organization.Organization
) -> None:
    role = stack.execution_role(org.members["sandbox-b"]).arn
    with stack.running_as("StoreSecretFunction"), pytest.raises(ClientError) as refused:
        sts = boto3.session.Session().client("sts", region_name=stack.region, endpoint_url=stack.endpoint_url)
        sts.assume_role(RoleArn=role, RoleSessionName="no-source-identity")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"


def test_the_execution_role_trusts_exactly_the_stacks_function_roles_output(
    stack: EmbeddedStack, org: organization.Organization
) -> None:
    trusted = stack.trusted_function_role_arns
    assert len(trusted) == 9 and len(set(trusted)) == 9  # SmokePull acts in target accounts too
    assert set(trusted) <= set(stack.function_role_arns.values())
    assert stack.function_role_arns["ApiFunction"] not in trusted  # the API never acts in target accounts
    (statement,) = stack.execution_role(org.members["workload-a"]).trust_policy["Statement"]
    assert statement["Condition"]["ArnEquals"] == {"aws:PrincipalArn": trusted}
    assert statement["Condition"]["StringEquals"] == {"aws:PrincipalOrgID": org.id, "sts:SourceIdentity": "pullthrough"}


def test_the_execution_role_changes_only_secrets_tagged_as_pullthroughs(
    stack: EmbeddedStack, org: organization.Organization, own_denials: list[str]
) -> None:
    # Given: in a member account, a secret a team made by hand under pullthrough's name, and one pullthrough made
    account = org.members["workload-b"]
    admin = stack.client("secretsmanager", REGION, account=account)
    admin.create_secret(Name="ecr-pullthroughcache/hand-made", SecretString='{"username": "team", "accessToken": "t"}')
    ours = [{"Key": "managed-by", "Value": "pullthrough"}]
    admin.create_secret(Name="ecr-pullthroughcache/ours", SecretString="{}", Tags=ours)
    # When: the execution role, as StoreSecret assumes it, writes to and deletes each
    assert stack.iam is not None
    role = stack.execution_role(account).arn
    with stack.running_as("StoreSecretFunction"):
        sts = boto3.session.Session().client("sts", region_name=stack.region, endpoint_url=stack.endpoint_url)
        keys = sts.assume_role(RoleArn=role, RoleSessionName="tags", SourceIdentity="pullthrough")["Credentials"]
    session = boto3.session.Session(keys["AccessKeyId"], keys["SecretAccessKey"], keys["SessionToken"])
    stack.iam.attach(session, role)  # what pullthrough.aws does with each session it assumes
    secrets = session.client("secretsmanager", region_name=REGION, endpoint_url=stack.endpoint_url)
    with stack.running_as("StoreSecretFunction"):
        secrets.put_secret_value(SecretId="ecr-pullthroughcache/ours", SecretString='{"changed": "yes"}')
        with pytest.raises(ClientError) as put:
            secrets.put_secret_value(SecretId="ecr-pullthroughcache/hand-made", SecretString='{"taken": "over"}')
        with pytest.raises(ClientError) as deleted:
            secrets.delete_secret(SecretId="ecr-pullthroughcache/hand-made")
        assert secrets.describe_secret(SecretId="ecr-pullthroughcache/hand-made")["Name"]  # reads stay allowed
    # Then: pullthrough's own secret changed; the hand-made one is refused both ways and left as it was
    assert put.value.response["Error"]["Code"] == "AccessDeniedException"
    assert deleted.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "secretsmanager:PutSecretValue on" in put.value.response["Error"]["Message"]
    hand_made = admin.get_secret_value(SecretId="ecr-pullthroughcache/hand-made")
    assert json.loads(hand_made["SecretString"]) == {"username": "team", "accessToken": "t"}
    assert "DeletedDate" not in admin.describe_secret(SecretId="ecr-pullthroughcache/hand-made")
    assert json.loads(admin.get_secret_value(SecretId="ecr-pullthroughcache/ours")["SecretString"]) == {
        "changed": "yes"
    }


# -- every grant no rollout here exercises: what it allows, and a misuse it refuses --------------------------------

ECR_UPSTREAM_ROLE = "role/ecr-upstream"  # under PassableRolePath (default /)


def home_call(stack: EmbeddedStack, service: str, operation: str, **params: Any) -> Call:
    return Call(service, operation, params, stack.region, HOME_ACCOUNT)


def rule_with_role(account: str, role_account: str) -> Call:
    params = {
        "ecrRepositoryPrefix": "ecr-upstream",
        "upstreamRegistryUrl": f"{role_account}.dkr.ecr.eu-west-1.amazonaws.com",
        "customRoleArn": f"arn:aws:iam::{role_account}:{ECR_UPSTREAM_ROLE}",
    }
    return Call("ecr", "CreatePullThroughCacheRule", params, REGION, account)


def linked_role(service: str, account: str = HOME_ACCOUNT) -> Call:
    return Call("iam", "CreateServiceLinkedRole", {"AWSServiceName": service}, "us-east-1", account)


@pytest.mark.parametrize("function", ["CreateRuleFunction", "RollbackFunction"])
def test_a_step_passes_only_this_accounts_roles_and_only_to_ecr(stack: EmbeddedStack, function: str) -> None:
    assert stack.iam is not None
    assert stack.iam.check(function, rule_with_role(HOME_ACCOUNT, HOME_ACCOUNT)) == []
    refused = stack.iam.check(function, rule_with_role(HOME_ACCOUNT, "210987654321"))  # another account's role
    assert [m.split(" on ")[0] for m in refused] == [f"IAM check: {function} is not allowed iam:PassRole"]


def test_the_steps_create_only_ecrs_service_linked_roles(stack: EmbeddedStack) -> None:
    assert stack.iam is not None
    check = stack.iam.check
    assert check("CreateRuleFunction", linked_role("pullthroughcache.ecr.amazonaws.com")) == []
    assert check("ApplyTemplateFunction", linked_role("ecr.amazonaws.com")) == []
    assert check("CreateRuleFunction", linked_role("ecr.amazonaws.com")) != []  # each step its own
    assert check("ApplyTemplateFunction", linked_role("pullthroughcache.ecr.amazonaws.com")) != []
    assert check("CreateRuleFunction", linked_role("ecs.amazonaws.com")) != []


def test_the_execution_role_passes_its_own_accounts_roles_and_creates_only_ecrs_linked_roles(
    stack: EmbeddedStack, org: organization.Organization
) -> None:
    assert stack.iam is not None
    member = org.members["sandbox-a"]
    role = ExecutionRole(stack.execution_role(member).arn, stack.execution_role(member).statements())
    check = stack.iam.check_role
    assert check(role, "CreateRuleFunction", rule_with_role(member, member)) == []
    assert check(role, "CreateRuleFunction", rule_with_role(member, HOME_ACCOUNT)) != []  # the home account's role
    assert check(role, "CreateRuleFunction", linked_role("pullthroughcache.ecr.amazonaws.com", member)) == []
    assert check(role, "ApplyTemplateFunction", linked_role("ecr.amazonaws.com", member)) == []
    assert check(role, "ApplyTemplateFunction", linked_role("ecs.amazonaws.com", member)) != []


@pytest.mark.parametrize("function", ["RuleRequestedFunction", "DriftSweepFunction"])
def test_the_organization_is_read_never_changed(stack: EmbeddedStack, function: str) -> None:
    assert stack.iam is not None
    check = stack.iam.check
    assert check(function, home_call(stack, "organizations", "DescribeOrganization")) == []
    assert (
        check(function, home_call(stack, "organizations", "ListChildren", ParentId="r-ab12", ChildType="ACCOUNT")) == []
    )
    assert check(function, home_call(stack, "organizations", "ListParents", ChildId="111122223333")) == []
    moved = home_call(stack, "organizations", "MoveAccount", AccountId="1", SourceParentId="r", DestinationParentId="o")
    assert check(function, moved) != []


@pytest.mark.parametrize("function", ["RuleRequestedFunction", "DriftSweepFunction"])
def test_only_the_rollouts_executions_are_read(stack: EmbeddedStack, function: str) -> None:
    assert stack.iam is not None
    machine = stack.state_machine_arn.rsplit(":", 1)[1]
    ours = f"arn:aws:states:{stack.region}:{HOME_ACCOUNT}:execution:{machine}:r-1"
    other = f"arn:aws:states:{stack.region}:{HOME_ACCOUNT}:execution:someone-elses:r-1"
    assert stack.iam.check(function, home_call(stack, "states", "DescribeExecution", executionArn=ours)) == []
    assert stack.iam.check(function, home_call(stack, "states", "DescribeExecution", executionArn=other)) != []
