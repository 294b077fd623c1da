"""Issue 18's start-path checks on moto: a rule reaches only accounts of pullthrough's Organization and uses only its
own credential, refused with a 422 naming the field before anything is written, on every path that starts a
rollout (API, plan, bus, drift repair, account events)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from pullthrough.drift.desired import Desired
from pullthrough.drift.outcome import start_repair
from pullthrough.membership import AccountMembership
from pullthrough.wiring import rollouts_from_env
from tests.integration.app_support import AppEnv, api, organization_members, provision
from tests.support import ACCOUNT, HOME, CallLog, FakeContext, load_handler
from tests.support import requested_event as requested

TRIGGER = load_handler("on_rule_requested")
MEMBER = "111111111111"
OUTSIDE = "999988887777"  # a 12-digit account that is not in the Organization
CREDENTIALS = {"username": "u", "accessToken": "t"}


@pytest.fixture
def app(moto_aws: None, monkeypatch: pytest.MonkeyPatch) -> AppEnv:
    organization_members(MEMBER)
    return provision(monkeypatch)


def nothing_written(app: AppEnv, call_log: CallLog, *also: str) -> None:
    """No write but ``also`` (e.g. the Rejected event): no secret, no lock, no rollout or rule item, no execution."""
    assert [op for *_, op in call_log.writes()] == list(also)
    assert app.executions() == []
    items = boto3.client("dynamodb", region_name=HOME).scan(TableName=app.table)["Items"]
    assert items == []  # no lock, no rollout, no rule
    names = [s["Name"] for s in boto3.client("secretsmanager", region_name=HOME).list_secrets()["SecretList"]]
    assert not [name for name in names if "_source/quay" in name or "_source/docker-hub" in name]


def refused(status: int, answer: Any, field: str) -> str:
    assert status == 422, answer
    assert answer["errors"][0]["field"] == field, answer
    return str(answer["message"])


def test_an_account_outside_the_organization_is_refused_on_the_api_before_any_write(
    app: AppEnv, call_log: CallLog
) -> None:
    body = {
        "upstreamRegistry": "docker-hub",
        "credentials": CREDENTIALS,  # an inline credential: its source secret is not written either
        "regions": ["eu-west-1"],
        "accounts": [ACCOUNT, OUTSIDE],
    }
    message = refused(*api("POST", "/rules", body), "accounts.1")
    assert OUTSIDE in message and "Organization" in message
    nothing_written(app, call_log)


def test_the_home_account_and_active_members_pass(app: AppEnv) -> None:
    status, answer = api(
        "POST", "/rules", {"upstreamRegistry": "quay", "regions": ["eu-west-1"], "accounts": [ACCOUNT, MEMBER]}
    )
    assert status == 202, answer
    assert sorted({t["account"] for t in answer["targets"]}) == [MEMBER, ACCOUNT]


def test_a_suspended_member_is_refused(app: AppEnv, call_log: CallLog) -> None:
    boto3.client("organizations", region_name=HOME).close_account(AccountId=MEMBER)
    body = {"upstreamRegistry": "quay", "regions": ["eu-west-1"], "accounts": [MEMBER]}
    refused(*api("POST", "/rules", body), "accounts.0")
    nothing_written(app, call_log)


def test_without_an_organization_only_the_home_account_may_be_targeted(
    moto_aws: None, monkeypatch: pytest.MonkeyPatch, call_log: CallLog
) -> None:
    alone = provision(monkeypatch)  # no organization at all
    body = {"upstreamRegistry": "quay", "regions": ["eu-west-1"], "accounts": [ACCOUNT, MEMBER]}
    message = refused(*api("POST", "/rules", body), "accounts.1")
    assert "no Organization" in message
    nothing_written(alone, call_log)
    assert api("POST", "/rules", body | {"accounts": [ACCOUNT]})[0] == 202


def test_a_plan_refuses_an_outside_account_too(app: AppEnv, call_log: CallLog) -> None:
    body = {"upstreamRegistry": "quay", "regions": ["eu-west-1"], "accounts": [MEMBER, OUTSIDE]}
    refused(*api("POST", "/rules", body, query={"dryRun": "true"}), "accounts.1")
    nothing_written(app, call_log)


def test_the_bus_rejects_an_outside_account_with_a_rule_rejected_event(app: AppEnv, call_log: CallLog) -> None:
    detail = {"upstreamRegistry": "quay", "regions": ["eu-west-1"], "accounts": [ACCOUNT, OUTSIDE]}
    out = TRIGGER.handler(requested(detail), FakeContext())
    assert out["accepted"] is False and out["field"] == "accounts.1"
    [report] = [e for e in app.emitted() if e["detail-type"] == "Pull Through Cache Rule Rejected"]
    assert report["detail"]["field"] == "accounts.1" and OUTSIDE in report["detail"]["reason"]
    nothing_written(app, call_log, "PutEvents")


def test_a_drift_repair_of_a_rule_naming_an_outside_account_is_not_started(app: AppEnv, call_log: CallLog) -> None:
    # A rule recorded before the check existed, as the sweep reads it from the table.
    item = {
        "pk": "RULES",
        "sk": "quay",
        "rule": {"ecrRepositoryPrefix": "quay", "upstreamRegistry": "quay", "upstreamRegistryUrl": "quay.io"},
        "regions": ["eu-west-1"],
        "accounts": [MEMBER, OUTSIDE],
        "targetAccounts": [MEMBER, OUTSIDE],
    }
    repair = start_repair(rollouts_from_env(trigger="sweep", organization=True), Desired.of(item, ACCOUNT), "s-1")
    assert repair["status"] == "FAILED" and OUTSIDE in repair["reason"]
    nothing_written(app, call_log)


def test_an_account_event_does_not_deploy_to_an_account_that_is_not_active(app: AppEnv, call_log: CallLog) -> None:
    org = boto3.client("organizations", region_name=HOME)
    root = org.list_roots()["Roots"][0]["Id"]
    unit = org.create_organizational_unit(ParentId=root, Name="team")["OrganizationalUnit"]["Id"]
    boto3.client("dynamodb", region_name=HOME).put_item(  # a rule for the OU, with no account in it yet
        TableName=app.table,
        Item={
            "pk": {"S": "RULES"},
            "sk": {"S": "quay"},
            "rule": {"M": {"ecrRepositoryPrefix": {"S": "quay"}, "upstreamRegistry": {"S": "quay"}}},
            "regions": {"L": [{"S": "eu-west-1"}]},
            "organizationalUnits": {"L": [{"S": unit}]},
            "targetAccounts": {"L": []},
        },
    )
    org.close_account(AccountId=MEMBER)  # SUSPENDED, then moved into the targeted OU
    org.move_account(AccountId=MEMBER, SourceParentId=root, DestinationParentId=unit)

    [outcome] = AccountMembership(rollouts_from_env(trigger="event", organization=True)).account_changed(MEMBER)
    assert (outcome["action"], outcome["field"]) == ("refused", "accounts.0") and MEMBER in outcome["reason"]
    assert [op for *_, op in call_log.writes()] == []
    assert app.executions() == []


def _secret(name: str, **more: Any) -> str:
    made = boto3.client("secretsmanager", region_name=HOME).create_secret(
        Name=name, SecretString=json.dumps(CREDENTIALS), **more
    )
    return str(made["ARN"])


def _named(arn: str, prefix: str = "team-b") -> dict[str, Any]:
    return {
        "upstreamRegistry": "docker-hub",
        "ecrRepositoryPrefix": prefix,
        "credentialSecretArn": arn,
        "regions": ["eu-west-1"],
    }


def test_another_prefixes_source_secret_is_refused(app: AppEnv) -> None:
    status, _ = api(
        "POST",
        "/rules",
        {
            "upstreamRegistry": "docker-hub",
            "ecrRepositoryPrefix": "team-a",
            "credentials": CREDENTIALS,
            "regions": ["eu-west-1"],
        },
    )
    assert status == 202
    secrets = boto3.client("secretsmanager", region_name=HOME)
    team_a = secrets.describe_secret(SecretId="ecr-pullthroughcache/_source/team-a")["ARN"]
    writes_before = len(app.executions())

    message = refused(*api("POST", "/rules", _named(team_a)), "credentialSecretArn")
    assert "team-a" in message
    assert len(app.executions()) == writes_before
    assert api("GET", "/rules/team-b")[0] == 404
    assert api("POST", "/rules", _named(team_a, "team-a"))[0] in (202, 409)  # its own rule may name it (409: busy)


def test_a_regional_secret_pullthrough_manages_is_refused(app: AppEnv, call_log: CallLog) -> None:
    # What StoreSecret leaves in the home region for the rule team-a: the name ECR reads, tagged as pullthrough's.
    arn = _secret("ecr-pullthroughcache/team-a", Tags=[{"Key": "managed-by", "Value": "pullthrough"}])
    message = refused(*api("POST", "/rules", _named(arn)), "credentialSecretArn")
    assert "regional secret" in message
    nothing_written(app, call_log)


def test_a_secret_under_a_customer_managed_key_is_refused_saying_ecr_reads_only_the_aws_managed_key(
    app: AppEnv, call_log: CallLog
) -> None:
    key = boto3.client("kms", region_name=HOME).create_key()["KeyMetadata"]["Arn"]
    arn = _secret("ecr-pullthroughcache/hand-made-cmk", KmsKeyId=key)
    message = refused(*api("POST", "/rules", _named(arn)), "credentialSecretArn")
    assert "AWS managed key" in message
    nothing_written(app, call_log)


def test_a_hand_made_secret_under_the_aws_managed_key_still_passes(app: AppEnv) -> None:
    arn = _secret("ecr-pullthroughcache/hand-made", KmsKeyId="alias/aws/secretsmanager")
    status, answer = api("POST", "/rules", _named(arn))
    assert status == 202, answer


def test_the_organization_is_read_once_per_invocation_whatever_the_rule_count(app: AppEnv, call_log: CallLog) -> None:
    deps = rollouts_from_env(trigger="sweep", organization=True)  # a sweep repairing several rules builds one
    assert deps.organization is not None
    for prefix in ("quay", "k8s"):
        item = {
            "sk": prefix,
            "rule": {"ecrRepositoryPrefix": prefix, "upstreamRegistry": "quay", "upstreamRegistryUrl": "quay.io"},
            "regions": ["eu-west-1"],
            "accounts": [MEMBER, OUTSIDE],
        }
        assert start_repair(deps, Desired.of(item, ACCOUNT), "s-1")["status"] == "FAILED"
    assert call_log.by_operation()["DescribeOrganization"] == 1
    assert call_log.by_operation()["ListAccountsForParent"] == 1  # the root's accounts (no OU yet), once


@pytest.mark.parametrize("path", ["/rules/quay", "/rules/quay?dryRun=true"])
def test_put_refuses_an_outside_account_like_post(app: AppEnv, call_log: CallLog, path: str) -> None:
    body = {"upstreamRegistry": "quay", "regions": ["eu-west-1"], "accounts": [MEMBER, OUTSIDE]}
    route, _, query = path.partition("?")
    refused(*api("PUT", route, body, query=dict([query.split("=")]) if query else None), "accounts.1")
    nothing_written(app, call_log)
