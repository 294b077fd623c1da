"""The embedded stack's IAM evaluation: what a call needs, and whether a function's statements grant it."""

from __future__ import annotations

from typing import Any

import pytest

from local.iam_check import IamCheck
from local.iam_evaluation import Need, condition_test, decide
from local.iam_needs import Call, needs_of
from local.iam_policies import Statement, Unresolved

ACCOUNT = "123456789012"
REGIONAL_SECRETS = f"arn:aws:secretsmanager:*:{ACCOUNT}:secret:ecr-pullthroughcache/*"
SOURCE_SECRETS = f"arn:aws:secretsmanager:*:{ACCOUNT}:secret:ecr-pullthroughcache/_source/*"
TAGGED = {"StringEquals": {"aws:RequestTag/managed-by": ("pullthrough",)}}


def allow(actions: str | tuple[str, ...], *resources: Any, sid: str = "", **extra: Any) -> Statement:
    actions = (actions,) if isinstance(actions, str) else actions
    return Statement(sid=sid, effect="Allow", actions=actions, resources=resources, **extra)


def deny(actions: str | tuple[str, ...], *resources: Any, sid: str = "", **extra: Any) -> Statement:
    actions = (actions,) if isinstance(actions, str) else actions
    return Statement(sid=sid, effect="Deny", actions=actions, resources=resources, **extra)


def call(service: str, operation: str, region: str = "eu-west-1", **params: Any) -> Call:
    return Call(service=service, operation=operation, params=params, region=region, account=ACCOUNT)


def verdicts(statements: list[Statement], made: Call) -> list[tuple[str, bool]]:
    return [(need.action, decide(statements, need).allowed) for need in needs_of(made)]


# -- evaluation ---------------------------------------------------------------------------------------------------


def test_an_explicit_deny_wins_over_an_allow() -> None:
    statements = [
        allow("secretsmanager:GetSecretValue", REGIONAL_SECRETS, sid="Read"),
        deny("secretsmanager:GetSecretValue", SOURCE_SECRETS, sid="NeverReadSourceSecrets"),
    ]
    regional = Need(
        "secretsmanager:GetSecretValue",
        f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:ecr-pullthroughcache/x-AbCdEf",
    )
    source = Need(
        "secretsmanager:GetSecretValue",
        f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:ecr-pullthroughcache/_source/x-AbCdEf",
    )
    assert decide(statements, regional).allowed
    assert decide(statements, source) == decide(list(reversed(statements)), source)
    assert not decide(statements, source).allowed
    assert decide(statements, source).reason == "explicitly denied by NeverReadSourceSecrets"


def test_nothing_granted_is_denied_and_actions_match_case_insensitively_with_wildcards() -> None:
    statements = [allow("SecretsManager:Describe*", REGIONAL_SECRETS), allow("ecr:?alidatePullThroughCacheRule", "*")]
    assert verdicts(statements, call("secretsmanager", "DescribeSecret", SecretId="ecr-pullthroughcache/x")) == [
        ("secretsmanager:DescribeSecret", True)
    ]
    assert verdicts(statements, call("ecr", "ValidatePullThroughCacheRule", ecrRepositoryPrefix="x")) == [
        ("ecr:ValidatePullThroughCacheRule", True)
    ]
    denied = decide(statements, Need("secretsmanager:DeleteSecret", REGIONAL_SECRETS))
    assert (denied.allowed, denied.reason) == (False, "no statement allows it")


def test_resources_are_matched_part_by_part_and_secret_names_get_their_arn_suffix() -> None:
    statements = [
        allow(
            "secretsmanager:DescribeSecret", f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:ecr-pullthroughcache/*"
        )
    ]
    assert verdicts(
        statements, call("secretsmanager", "DescribeSecret", region="us-east-1", SecretId="ecr-pullthroughcache/a/b")
    ) == [("secretsmanager:DescribeSecret", True)]
    # another region, another account, outside the namespace: not granted
    assert not decide(
        statements, needs_of(call("secretsmanager", "DescribeSecret", SecretId="ecr-pullthroughcache/a"))[0]
    ).allowed
    other_account = "arn:aws:secretsmanager:us-east-1:999999999999:secret:ecr-pullthroughcache/a-AbCdEf"
    assert not decide(statements, Need("secretsmanager:DescribeSecret", other_account)).allowed
    assert not decide(
        statements, needs_of(call("secretsmanager", "DescribeSecret", region="us-east-1", SecretId="other/a"))[0]
    ).allowed
    # a statement naming the secret without its suffix does not match the secret (as on AWS); with -?????? it does
    exact = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:ecr-pullthroughcache/a"
    need = needs_of(call("secretsmanager", "DescribeSecret", region="us-east-1", SecretId="ecr-pullthroughcache/a"))[0]
    assert not decide([allow("secretsmanager:DescribeSecret", exact)], need).allowed
    assert decide([allow("secretsmanager:DescribeSecret", exact + "-??????")], need).allowed
    assert need.describe() == f"secretsmanager:DescribeSecret on {exact}"


def test_actions_without_resource_level_permissions_need_a_star_resource() -> None:
    describe = call("ecr", "DescribePullThroughCacheRules")
    assert verdicts([allow("ecr:DescribePullThroughCacheRules", "*")], describe) == [
        ("ecr:DescribePullThroughCacheRules", True)
    ]
    scoped = allow("ecr:DescribePullThroughCacheRules", f"arn:aws:ecr:*:{ACCOUNT}:repository/*")
    assert verdicts([scoped], describe) == [("ecr:DescribePullThroughCacheRules", False)]
    assert needs_of(call("secretsmanager", "ListSecrets"))[0].resource == "*"


def test_not_action_and_not_resource() -> None:
    everything_but_delete = Statement(
        sid="", effect="Allow", not_actions=("secretsmanager:Delete*",), resources=(REGIONAL_SECRETS,)
    )
    secret = f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:ecr-pullthroughcache/x-AbCdEf"
    assert decide([everything_but_delete], Need("secretsmanager:PutSecretValue", secret)).allowed
    assert not decide([everything_but_delete], Need("secretsmanager:DeleteSecret", secret)).allowed
    outside_source = Statement(
        sid="", effect="Allow", actions=("secretsmanager:GetSecretValue",), not_resources=(SOURCE_SECRETS,)
    )
    assert decide([outside_source], Need("secretsmanager:GetSecretValue", secret)).allowed
    assert not decide(
        [outside_source], Need("secretsmanager:GetSecretValue", secret.replace("/x-", "/_source/x-"))
    ).allowed


# -- conditions ----------------------------------------------------------------------------------------------------


def test_create_secret_needs_its_tag_and_tag_resource_under_the_same_condition() -> None:
    statements = [
        allow(("secretsmanager:CreateSecret", "secretsmanager:TagResource"), REGIONAL_SECRETS, conditions=TAGGED)
    ]
    ours = [{"Key": "managed-by", "Value": "pullthrough"}]
    tagged = call("secretsmanager", "CreateSecret", Name="ecr-pullthroughcache/x", Tags=ours)
    assert verdicts(statements, tagged) == [("secretsmanager:CreateSecret", True), ("secretsmanager:TagResource", True)]
    untagged = call("secretsmanager", "CreateSecret", Name="ecr-pullthroughcache/x")
    assert verdicts(statements, untagged) == [("secretsmanager:CreateSecret", False)]
    theirs = call(
        "secretsmanager", "CreateSecret", Name="ecr-pullthroughcache/x", Tags=[{"Key": "managed-by", "Value": "me"}]
    )
    assert verdicts(statements, theirs) == [
        ("secretsmanager:CreateSecret", False),
        ("secretsmanager:TagResource", False),
    ]
    # TagResource is needed, not implied: without it the tagged create is refused
    only_create = [allow("secretsmanager:CreateSecret", REGIONAL_SECRETS, conditions=TAGGED)]
    assert verdicts(only_create, tagged) == [
        ("secretsmanager:CreateSecret", True),
        ("secretsmanager:TagResource", False),
    ]


@pytest.mark.parametrize(
    ("operator", "key", "wanted", "context", "expected"),
    [
        (
            "StringEquals",
            "iam:PassedToService",
            ("ecr.amazonaws.com",),
            {"iam:passedtoservice": ("ecr.amazonaws.com",)},
            True,
        ),
        (
            "StringEquals",
            "iam:PassedToService",
            ("ecr.amazonaws.com",),
            {"iam:passedtoservice": ("lambda.amazonaws.com",)},
            False,
        ),
        ("StringEquals", "IAM:PassedToService", ("ecr.amazonaws.com",), {}, False),  # key absent
        ("StringNotEquals", "aws:RequestTag/team", ("a",), {}, True),  # negated, key absent: holds
        ("StringEqualsIfExists", "aws:RequestTag/team", ("a",), {}, True),
        ("StringLike", "aws:RequestTag/team", ("pull*",), {"aws:requesttag/team": ("pullthrough",)}, True),
        ("Null", "aws:RequestTag/team", ("true",), {}, True),
        ("Null", "aws:RequestTag/team", ("false",), {}, False),
        ("ForAllValues:StringEquals", "aws:TagKeys", ("a", "b"), {"aws:tagkeys": ("a", "b")}, True),
        ("ForAllValues:StringEquals", "aws:TagKeys", ("a",), {"aws:tagkeys": ("a", "c")}, False),
        ("ForAnyValue:StringEquals", "aws:TagKeys", ("c",), {"aws:tagkeys": ("a", "c")}, True),
        ("StringEquals", "aws:ResourceTag/team", ("a",), {}, None),  # a key this check cannot tell
        (
            "NumericLessThan",
            "aws:RequestTag/team",
            ("3",),
            {"aws:requesttag/team": ("1",)},
            None,
        ),  # an operator it lacks
        (
            "StringEquals",
            "iam:PassedToService",
            (Unresolved("x"),),
            {"iam:passedtoservice": ("ecr.amazonaws.com",)},
            None,
        ),
    ],
)
def test_conditions(
    operator: str, key: str, wanted: tuple[Any, ...], context: dict[str, tuple[str, ...]], expected: bool | None
) -> None:
    assert condition_test(operator, key, wanted, context) is expected


def test_what_the_check_cannot_tell_grants_nothing_and_denies_conservatively() -> None:
    secret = Need(
        "secretsmanager:DescribeSecret",
        f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:ecr-pullthroughcache/x-AbCdEf",
    )
    on_resource_tag = {"StringEquals": {"aws:ResourceTag/managed-by": ("pullthrough",)}}
    assert not decide(
        [allow("secretsmanager:DescribeSecret", REGIONAL_SECRETS, conditions=on_resource_tag)], secret
    ).allowed
    assert not decide([allow("secretsmanager:DescribeSecret", Unresolved("GetAtt Queue.Arn"))], secret).allowed
    granted = allow("secretsmanager:DescribeSecret", REGIONAL_SECRETS)
    on_source_arn = {"ArnLike": {"aws:SourceArn": ("arn:aws:events:*",)}}
    assert not decide([granted, deny("secretsmanager:DescribeSecret", "*", conditions=on_source_arn)], secret).allowed
    assert not decide([granted, deny("secretsmanager:DescribeSecret", Unresolved("Ref X"))], secret).allowed


# -- what a call needs besides its own action ----------------------------------------------------------------------


def test_pull_through_rules_need_the_credential_secret_and_the_role_they_pass() -> None:
    made = call(
        "ecr",
        "CreatePullThroughCacheRule",
        ecrRepositoryPrefix="x",
        credentialArn="arn:aws:secretsmanager:eu-west-1:123456789012:secret:ecr-pullthroughcache/x-AbCdEf",
        customRoleArn="arn:aws:iam::123456789012:role/upstream",
    )
    needs = needs_of(made)
    assert [(n.action, n.resource) for n in needs] == [
        ("ecr:CreatePullThroughCacheRule", "*"),
        ("secretsmanager:GetSecretValue", made.params["credentialArn"]),
        ("iam:PassRole", "arn:aws:iam::123456789012:role/upstream"),
    ]
    assert needs[2].context["iam:passedtoservice"] == ("pullthroughcache.ecr.amazonaws.com",)
    assert needs[2].describe().endswith("(needed by ecr:CreatePullThroughCacheRule)")
    pass_to_ecr = allow(
        "iam:PassRole",
        "arn:aws:iam::123456789012:role/*",
        conditions={"StringEquals": {"iam:PassedToService": ("ecr.amazonaws.com",)}},
    )
    assert not decide([pass_to_ecr], needs[2]).allowed


def test_creation_templates_need_what_the_template_does() -> None:
    plain = call("ecr", "UpdateRepositoryCreationTemplate", prefix="team/app", appliedFor=["REPLICATION"])
    assert [(n.action, n.resource) for n in needs_of(plain)] == [
        ("ecr:UpdateRepositoryCreationTemplate", "*"),
        ("ecr:CreateRepository", f"arn:aws:ecr:eu-west-1:{ACCOUNT}:repository/team/app/*"),
    ]
    full = call(
        "ecr",
        "CreateRepositoryCreationTemplate",
        prefix="ROOT",
        appliedFor=["PULL_THROUGH_CACHE"],
        lifecyclePolicy="{}",
        repositoryPolicy="{}",
        customRoleArn="arn:aws:iam::123456789012:role/templates",
    )
    needs = needs_of(full)
    assert [n.action for n in needs] == [
        "ecr:CreateRepositoryCreationTemplate",
        "ecr:CreateRepository",
        "ecr:PutLifecyclePolicy",
        "ecr:SetRepositoryPolicy",
        "iam:PassRole",
    ]
    assert needs[1].resource == f"arn:aws:ecr:eu-west-1:{ACCOUNT}:repository/*"
    assert needs[4].context["iam:passedtoservice"] == ("ecr.amazonaws.com",)
    # a grant on every repository of the account covers a prefix's repositories
    assert decide([allow("ecr:CreateRepository", f"arn:aws:ecr:*:{ACCOUNT}:repository/*")], needs[1]).allowed


def test_assuming_a_role_with_a_source_identity_needs_set_source_identity_on_that_role_too() -> None:
    role = "arn:aws:iam::111122223333:role/PullthroughExecutionRole"
    assume_only = [allow("sts:AssumeRole", "arn:aws:iam::*:role/PullthroughExecutionRole")]
    both = [allow(("sts:AssumeRole", "sts:SetSourceIdentity"), "arn:aws:iam::*:role/PullthroughExecutionRole")]
    with_identity = call("sts", "AssumeRole", RoleArn=role, RoleSessionName="r-1", SourceIdentity="pullthrough")
    assert verdicts(assume_only, with_identity) == [("sts:AssumeRole", True), ("sts:SetSourceIdentity", False)]
    assert verdicts(both, with_identity) == [("sts:AssumeRole", True), ("sts:SetSourceIdentity", True)]
    assert verdicts(assume_only, call("sts", "AssumeRole", RoleArn=role, RoleSessionName="r-1")) == [
        ("sts:AssumeRole", True)
    ]


def test_who_am_i_needs_no_permission_even_outside_any_function() -> None:
    check = IamCheck({"StoreSecretFunction": [deny("*", "*")]}, account_id=ACCOUNT)
    assert check.check("StoreSecretFunction", call("sts", "GetCallerIdentity")) == []
    assert check.check(None, call("sts", "GetCallerIdentity")) == []


def test_the_resources_of_dynamodb_step_functions_and_eventbridge_calls() -> None:
    table = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/rules"
    assert (
        needs_of(call("dynamodb", "Query", region="us-east-1", TableName="rules", IndexName="byPrefix"))[0].resource
        == table + "/index/byPrefix"
    )
    transact = call(
        "dynamodb",
        "TransactWriteItems",
        region="us-east-1",
        TransactItems=[{"Put": {"TableName": "rules"}}, {"Delete": {"TableName": "rules"}}],
    )
    assert [(n.action, n.resource) for n in needs_of(transact)] == [
        ("dynamodb:PutItem", table),
        ("dynamodb:DeleteItem", table),
    ]
    execution = f"arn:aws:states:us-east-1:{ACCOUNT}:execution:rollout:r-1"
    assert needs_of(call("states", "DescribeExecution", executionArn=execution))[0].resource == execution
    assert [
        n.resource for n in needs_of(call("events", "PutEvents", region="cn-north-1", Entries=[{"Source": "x"}]))
    ] == [f"arn:aws-cn:events:cn-north-1:{ACCOUNT}:event-bus/default"]


# -- the check's messages ------------------------------------------------------------------------------------------


def test_a_denial_names_the_function_the_action_and_the_resource() -> None:
    check = IamCheck({"StoreSecretFunction": [], "CreateRuleFunction": []}, account_id=ACCOUNT)
    made = call("secretsmanager", "CreateSecret", Name="ecr-pullthroughcache/x")
    assert check.check("StoreSecretFunction", made) == [
        "IAM check: StoreSecretFunction is not allowed secretsmanager:CreateSecret on "
        f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:ecr-pullthroughcache/x: no statement allows it"
    ]
    assert check.check(None, made) == [
        "IAM check: secretsmanager:CreateSecret on "
        f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:ecr-pullthroughcache/x was called outside any function "
        "invocation (no policy applies)"
    ]


def test_a_repeated_question_is_evaluated_once_and_answered_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    from local import iam_check

    statements = {"StoreSecretFunction": [allow("secretsmanager:GetSecretValue", REGIONAL_SECRETS)]}
    check = IamCheck(statements, account_id=ACCOUNT)
    evaluated: list[Need] = []

    def counting(given: Any, need: Need) -> Any:
        evaluated.append(need)
        return decide(given, need)

    monkeypatch.setattr(iam_check, "decide", counting)
    read = call("secretsmanager", "GetSecretValue", SecretId="ecr-pullthroughcache/x")
    write = call("secretsmanager", "CreateSecret", Name="ecr-pullthroughcache/x")
    for _ in range(3):
        assert check.check("StoreSecretFunction", read) == []
        assert len(check.check("StoreSecretFunction", write)) == 1  # denied every time, not only the first
    elsewhere = call("secretsmanager", "GetSecretValue", region="eu-west-2", SecretId="ecr-pullthroughcache/x")
    assert check.check("StoreSecretFunction", elsewhere) == []
    # One evaluation per distinct (function, action, resource, condition values): the region is a condition value.
    assert [n.action for n in evaluated] == [
        "secretsmanager:GetSecretValue",
        "secretsmanager:CreateSecret",
        "secretsmanager:GetSecretValue",
    ]
