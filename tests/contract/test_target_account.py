"""target-account.yaml (the execution role in each target account) and org-events.yaml (the management account's
forwarding rule): who may assume the role, exactly what it may do, and which Organizations events reach the app.

The role's grants are derived from template.yaml, not listed twice by hand: every ECR, Secrets Manager and IAM grant
that the app's functions hold beyond the home region (Resource "*" or any region, never the home-only source secrets)
is what a region step needs in a target account, so the role must hold exactly those.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from moto.events.models import EventPattern

from local import organization
from local.emulator.sts_trust import Caller, trust_allows
from local.target_account import TARGET_ACCOUNT_TEMPLATE, deployed_role
from local.template_reader import DEFAULT_TEMPLATE, ROOT, CfnLoader

ORG_EVENTS_TEMPLATE = ROOT / "org-events.yaml"
HOME = "123456789012"
TARGET = "111122223333"
ORG = "o-exampleorg1"
TARGET_SERVICES = ("ecr:", "secretsmanager:", "iam:", "account:")
HOME_ONLY = ("${AWS::Region}", "${SourceSecretPrefix}")  # the home region, the home account's source secrets


def load(path: Path) -> dict[str, Any]:
    doc = yaml.load(path.read_text(encoding="utf-8"), Loader=CfnLoader)
    assert isinstance(doc, dict)
    return doc


@pytest.fixture(scope="module")
def target_account() -> dict[str, Any]:
    return load(TARGET_ACCOUNT_TEMPLATE)


@pytest.fixture(scope="module")
def role(target_account: dict[str, Any]) -> dict[str, Any]:
    roles = [r for r in target_account["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    assert len(roles) == 1, "target-account.yaml creates exactly one role"
    props: dict[str, Any] = roles[0]["Properties"]
    return props


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def text(value: Any) -> str:
    """A Resource as written: a plain string or the string of a !Sub."""
    return str(value["Fn::Sub"]) if isinstance(value, dict) and "Fn::Sub" in value else str(value)


def allow_statements(policies: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for policy in policies:
        for statement in as_list(policy.get("PolicyDocument", policy).get("Statement") or []):
            if statement.get("Effect") == "Allow":
                yield statement


Grants = dict[str, tuple[frozenset[str], frozenset[tuple[str, str, str] | None]]]


def grants(statements: Iterator[dict[str, Any]]) -> Grants:
    """Action -> (every Resource it is granted on, every condition it is granted under; None: unconditionally)."""
    resources: dict[str, set[str]] = {}
    conditions: dict[str, set[tuple[str, str, str] | None]] = {}
    for statement in statements:
        written = [text(r) for r in as_list(statement.get("Resource", []))]
        if any(marker in r for r in written for marker in HOME_ONLY):
            continue
        condition = statement.get("Condition") or {}
        triples = {
            (op, key, str(v))
            for op, block in condition.items()
            for key, values in block.items()
            for v in as_list(values)
        }
        for action in as_list(statement.get("Action", [])):
            if not str(action).startswith(TARGET_SERVICES):
                continue
            resources.setdefault(action, set()).update(written)
            under: set[tuple[str, str, str] | None] = set(triples) or {None}
            conditions.setdefault(action, set()).update(under)
    return {action: (frozenset(resources[action]), frozenset(conditions[action])) for action in resources}


def app_grants() -> Grants:
    resources = load(DEFAULT_TEMPLATE)["Resources"]
    functions = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Serverless::Function"]
    inline = [p for fn in functions for p in fn.get("Policies") or [] if isinstance(p, dict) and "Statement" in p]
    return grants(allow_statements(inline))


def role_grants(role: Mapping[str, Any]) -> Grants:
    return grants(allow_statements(list(role["Policies"])))


# -- what the role may do ------------------------------------------------------------------------------------------


def test_the_role_holds_every_ecr_secrets_and_iam_grant_the_steps_hold_beyond_the_home_region(
    role: dict[str, Any],
) -> None:
    expected, held = app_grants(), role_grants(role)
    assert "ecr:CreatePullThroughCacheRule" in expected and "secretsmanager:PutSecretValue" in expected  # derived
    missing = {action: grant for action, grant in expected.items() if held.get(action) != grant}
    assert not missing, f"target-account.yaml lacks or differs from template.yaml's grants: {missing}"


def test_the_role_holds_nothing_else(role: dict[str, Any]) -> None:
    actions = {str(a) for s in allow_statements(list(role["Policies"])) for a in as_list(s["Action"])}
    assert actions == set(app_grants()), sorted(actions ^ set(app_grants()))
    assert not [a for a in actions if not a.startswith(TARGET_SERVICES)]  # no DynamoDB, Step Functions, events
    assert "ManagedPolicyArns" not in role and "PermissionsBoundary" not in role
    denies = [s for p in role["Policies"] for s in as_list(p["PolicyDocument"]["Statement"]) if s["Effect"] != "Allow"]
    assert denies == []


def test_secrets_are_scoped_to_ecr_pullthroughcache_and_roles_passed_only_to_ecr(role: dict[str, Any]) -> None:
    for action, (resources, conditions) in role_grants(role).items():
        if action.startswith("secretsmanager:") and action != "secretsmanager:ListSecrets":
            assert resources == {
                "arn:${AWS::Partition}:secretsmanager:*:${AWS::AccountId}:secret:ecr-pullthroughcache/*"
            }
        if action == "iam:PassRole":
            assert resources == {"arn:${AWS::Partition}:iam::${AWS::AccountId}:role${PassableRolePath}*"}
            assert conditions == {
                ("StringEquals", "iam:PassedToService", "ecr.amazonaws.com"),
                ("StringEquals", "iam:PassedToService", "pullthroughcache.ecr.amazonaws.com"),
            }
    assert role_grants(role)["secretsmanager:CreateSecret"][1] == {
        ("StringEquals", "aws:RequestTag/managed-by", "pullthrough")
    }


REPOSITORY_WRITES = {"ecr:CreateRepository", "ecr:PutLifecyclePolicy", "ecr:SetRepositoryPolicy"}
SECRET_WRITES = {
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
    "secretsmanager:DeleteSecret",
    "secretsmanager:RestoreSecret",
}
MANAGED_REPOSITORIES = {
    "Fn::Split": [
        ",",
        {
            "Fn::Join": [
                "",
                [
                    "arn:*:ecr:*:*:repository/",
                    {"Fn::Join": [",arn:*:ecr:*:*:repository/", {"Ref": "ManagedRepositories"}]},
                ],
            ]
        },
    ]
}


@pytest.mark.parametrize("template_path", [TARGET_ACCOUNT_TEMPLATE, DEFAULT_TEMPLATE], ids=lambda p: p.name)
def test_repository_writes_only_on_managed_repositories_of_this_account(template_path: Path) -> None:
    doc = load(template_path)
    assert doc["Parameters"]["ManagedRepositories"]["Type"] == "CommaDelimitedList"
    seen = 0
    for statement in every_statement(doc):
        if not REPOSITORY_WRITES & set(as_list(statement.get("Action", []))):
            continue
        seen += 1
        assert statement["Resource"] == MANAGED_REPOSITORIES, statement
        assert statement["Condition"] == {"StringEquals": {"aws:ResourceAccount": {"Ref": "AWS::AccountId"}}}
    assert seen


def test_as_deployed_repository_writes_cover_exactly_the_listed_prefixes() -> None:
    deployed = deployed_role(
        {"HomeAccountId": HOME, "FunctionRoleArns": STACK_ROLES[0], "ManagedRepositories": "docker-hub/*,ghcr/*"},
        TARGET,
    )
    (statement,) = [
        s for s in deployed.policies["pullthrough-region-steps"]["Statement"] if s["Sid"] == "GrantWhatTemplatesApply"
    ]
    assert statement["Resource"] == ["arn:*:ecr:*:*:repository/docker-hub/*", "arn:*:ecr:*:*:repository/ghcr/*"]
    assert statement["Condition"] == {"StringEquals": {"aws:ResourceAccount": TARGET}}


def test_secret_writes_and_deletes_only_on_secrets_tagged_as_pullthroughs(role: dict[str, Any]) -> None:
    held = role_grants(role)
    own = ("StringEquals", "aws:ResourceTag/managed-by", "pullthrough")
    for action in SECRET_WRITES:
        assert held[action][1] == {own}, action
    assert held["secretsmanager:CreateSecret"][1] == {("StringEquals", "aws:RequestTag/managed-by", "pullthrough")}
    # Tagging: a new tag managed-by=pullthrough (creating or adopting), or, to give a taken-over secret back as it
    # was (Rollback after "adopt"), pullthrough's own two tag keys and no other.
    own_keys = {("ForAllValues:StringEquals", "aws:TagKeys", key) for key in ("managed-by", "pullthrough:prefix")}
    assert (
        held["secretsmanager:TagResource"][1]
        == {("StringEquals", "aws:RequestTag/managed-by", "pullthrough")} | own_keys
    )
    assert held["secretsmanager:UntagResource"][1] == own_keys


def every_statement(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every statement of the roles' inline policies and the functions' inline Policies."""
    for resource in doc["Resources"].values():
        for policy in (resource.get("Properties") or {}).get("Policies") or []:
            if isinstance(policy, dict):
                yield from as_list(policy.get("PolicyDocument", policy).get("Statement") or [])


# -- who may assume it ---------------------------------------------------------------------------------------------


def test_the_role_is_named_by_a_parameter_and_trusts_exactly_the_home_stacks_function_roles(
    target_account: dict[str, Any], role: dict[str, Any]
) -> None:
    parameters = target_account["Parameters"]
    assert parameters["ExecutionRoleName"]["Default"] == "PullthroughExecutionRole"
    assert (
        parameters["FunctionRoleArns"]["Type"] == "CommaDelimitedList"
        and "Default" not in parameters["FunctionRoleArns"]
    )
    assert "FunctionRolePath" not in parameters  # no trust by path
    assert parameters["OrganizationId"]["Default"] == ""
    assert "Default" not in parameters["HomeAccountId"]
    assert role["RoleName"] == {"Ref": "ExecutionRoleName"}
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Effect"] == "Allow"
    assert trust["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${HomeAccountId}:root"}}
    assert sorted(trust["Action"]) == ["sts:AssumeRole", "sts:SetSourceIdentity"]
    condition, with_org, without_org = trust["Condition"]["Fn::If"]
    assert target_account["Conditions"][condition] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "OrganizationId"}, ""]}]}
    only_functions = {"aws:PrincipalArn": {"Ref": "FunctionRoleArns"}}
    source_identity = {"sts:SourceIdentity": "pullthrough"}
    assert without_org == {"ArnEquals": only_functions, "StringEquals": source_identity}
    assert with_org == {
        "ArnEquals": only_functions,
        "StringEquals": {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}, **source_identity},
    }


def test_no_trust_by_path_wildcard(target_account: dict[str, Any]) -> None:
    for operator, key, value in trust_conditions(target_account):
        assert not operator.lower().startswith(("arnlike", "stringlike")), (operator, key, value)
        assert "*" not in json.dumps(value), (operator, key, value)


def trust_conditions(doc: dict[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """(operator, key, value) of every trust policy condition, both branches of an Fn::If."""
    for resource in doc["Resources"].values():
        document = (resource.get("Properties") or {}).get("AssumeRolePolicyDocument") or {}
        for statement in as_list(document.get("Statement") or []):
            condition = statement.get("Condition") or {}
            branches = condition["Fn::If"][1:] if "Fn::If" in condition else [condition]
            for branch in branches:
                for operator, block in branch.items():
                    for key, value in block.items():
                        yield operator, key, value


STACK_ROLES = [
    f"arn:aws:iam::{HOME}:role/pullthrough/pullthrough-{fn}FunctionRole-ABC" for fn in ("StoreSecret", "CreateRule")
]


def function_role(name: str = "pullthrough-StoreSecretFunctionRole-ABC", account: str = HOME) -> Caller:
    arn = f"arn:aws:iam::{account}:role/pullthrough/{name}"
    return Caller(account, arn, f"arn:aws:sts::{account}:assumed-role/x/y")


def context(caller: Caller, org: str | None, source_identity: str | None = "pullthrough") -> dict[str, tuple[str, ...]]:
    found = {"aws:principalarn": (caller.principal_arn,), "aws:principalaccount": (caller.account,)}
    return {
        **found,
        **({"aws:principalorgid": (org,)} if org else {}),
        **({"sts:sourceidentity": (source_identity,)} if source_identity else {}),
    }


@pytest.mark.parametrize(
    ("caller", "caller_org", "source_identity", "allowed"),
    [
        (function_role(), ORG, "pullthrough", True),
        (function_role("pullthrough-CreateRuleFunctionRole-ABC"), ORG, "pullthrough", True),
        (function_role(), ORG, None, False),  # no source identity: not how the functions assume it
        (function_role(), ORG, "someone", False),
        # another stack in the same account (samconfig's prod), under the same path
        (function_role("pullthrough-prod-StoreSecretFunctionRole-XYZ"), ORG, "pullthrough", False),
        (function_role("anything"), ORG, "pullthrough", False),  # any other role under the functions' path
        (Caller(HOME, f"arn:aws:iam::{HOME}:root", f"arn:aws:iam::{HOME}:root"), ORG, "pullthrough", False),
        (function_role(account="999999999999"), ORG, "pullthrough", False),  # the same name in another account
        (function_role(), "o-someoneelse", "pullthrough", False),
        (function_role(), None, "pullthrough", False),  # a principal outside any organization
    ],
)
def test_as_deployed_with_an_organization_only_that_stacks_functions_of_that_organization_get_in(
    caller: Caller, caller_org: str | None, source_identity: str | None, allowed: bool
) -> None:
    deployed = deployed_role(
        {"HomeAccountId": HOME, "OrganizationId": ORG, "FunctionRoleArns": ",".join(STACK_ROLES)}, TARGET
    )
    actions = ["sts:AssumeRole", *(["sts:SetSourceIdentity"] if source_identity else [])]
    granted = trust_allows(deployed.trust_policy, caller, actions, context(caller, caller_org, source_identity))
    assert granted is allowed


def test_as_deployed_without_an_organization_the_functions_get_in_from_anywhere() -> None:
    deployed = deployed_role({"HomeAccountId": HOME, "FunctionRoleArns": ",".join(STACK_ROLES)}, TARGET)
    assert "aws:PrincipalOrgID" not in deployed.trust_policy["Statement"][0]["Condition"]["StringEquals"]
    actions = ["sts:AssumeRole", "sts:SetSourceIdentity"]
    assert trust_allows(deployed.trust_policy, function_role(), actions, context(function_role(), None))
    other = function_role("pullthrough-prod-StoreSecretFunctionRole-XYZ")
    assert not trust_allows(deployed.trust_policy, other, actions, context(other, None))
    assert deployed.arn == f"arn:aws:iam::{TARGET}:role/PullthroughExecutionRole"


# -- org-events.yaml -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def org_events() -> dict[str, Any]:
    return load(ORG_EVENTS_TEMPLATE)


def test_org_events_forwards_to_the_bus_parameter_with_a_role_that_may_put_only_there(
    org_events: dict[str, Any],
) -> None:
    resources = org_events["Resources"]
    (rule,) = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Events::Rule"]
    assert rule["EventBusName"] == "default" and rule["State"] == "ENABLED"
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Ref": "PullthroughEventBusArn"}
    role_id = target["RoleArn"]["Fn::GetAtt"][0]
    role = resources[role_id]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "events.amazonaws.com"} and trust["Action"] == "sts:AssumeRole"
    statements = [s for p in role["Policies"] for s in as_list(p["PolicyDocument"]["Statement"])]
    assert statements == [
        {
            "Sid": "PullthroughBusOnly",
            "Effect": "Allow",
            "Action": "events:PutEvents",
            "Resource": {"Ref": "PullthroughEventBusArn"},
        }
    ]
    assertion = org_events["Rules"]["OrganizationsEventsArriveInUsEast1"]["Assertions"][0]["Assert"]
    assert assertion == {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}


def as_delivered(entry: dict[str, Any]) -> Any:
    """A put_events entry as EventBridge delivers it to a rule."""
    return {
        "source": entry["Source"],
        "detail-type": entry["DetailType"],
        "detail": json.loads(entry["Detail"]),
        "account": HOME,
        "region": "us-east-1",
    }


def test_org_events_matches_the_events_the_embedded_stack_delivers_and_nothing_else(org_events: dict[str, Any]) -> None:
    (rule,) = [r["Properties"] for r in org_events["Resources"].values() if r["Type"] == "AWS::Events::Rule"]
    pattern = EventPattern.load(json.dumps(rule["EventPattern"]))
    org = organization.Organization(id=ORG, management_account=HOME, root_id="r-ab12", ous={}, members={})
    moved = organization.move_account_event(org, TARGET, "r-ab12", "ou-ab12-11111111")
    created = organization.create_account_result_event(org, TARGET, "new")
    assert pattern.matches_event(as_delivered(moved))
    assert pattern.matches_event(as_delivered(created))
    assert json.loads(moved["Detail"])["requestParameters"] == {
        "accountId": TARGET,
        "sourceParentId": "r-ab12",
        "destinationParentId": "ou-ab12-11111111",
    }
    assert json.loads(created["Detail"])["serviceEventDetails"]["createAccountStatus"]["state"] == "SUCCEEDED"
    other = as_delivered({**moved, "Detail": moved["Detail"].replace('"MoveAccount"', '"CreateOrganizationalUnit"')})
    assert not pattern.matches_event(other)
    assert not pattern.matches_event(as_delivered({**moved, "DetailType": organization.SERVICE_EVENT}))
