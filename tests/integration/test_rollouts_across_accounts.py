"""A rollout across accounts on moto, with the state machine's records written by hand: what the API starts, what
FinishRollout decides from the account items, and where the rule is then recorded as deployed."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from pullthrough.adapters.store import PrefixBusy, RolloutStore
from pullthrough.exceptions import AwsTransientError
from pullthrough.membership import AccountMembership
from pullthrough.rollout_views import EVENT_TARGETS_MAX, event_summary
from pullthrough.wiring import rollouts_from_env
from tests.integration.app_support import AppEnv, api, organization_members, provision
from tests.support import FakeContext, load_handler

FINISH = load_handler("finish_rollout")
HOME = "123456789012"
ONE, TWO = "111111111111", "222222222222"
REGIONS = ["us-east-1", "eu-west-1"]


@pytest.fixture
def app(moto_aws: None, monkeypatch: pytest.MonkeyPatch) -> AppEnv:
    organization_members(ONE, TWO)
    return provision(monkeypatch)


def account_item(app: AppEnv, rollout_id: str, account: str) -> dict[str, Any]:
    ddb = boto3.resource("dynamodb", region_name="us-east-1").Table(app.table)
    return ddb.get_item(Key={"pk": f"ROLLOUT#{rollout_id}", "sk": f"ACCOUNT#{account}"}).get("Item") or {}


def set_entry(app: AppEnv, rollout_id: str, account: str, entries: str, result: dict[str, Any]) -> None:
    """What the state machine's record states write: ``result`` as JSON, under ``entries`` (regions | rollback) of
    the account's item."""
    boto3.client("dynamodb", region_name="us-east-1").update_item(
        TableName=app.table,
        Key={"pk": {"S": f"ROLLOUT#{rollout_id}"}, "sk": {"S": f"ACCOUNT#{account}"}},
        UpdateExpression="SET #entries.#region = :result",
        ExpressionAttributeNames={"#entries": entries, "#region": result["region"]},
        ExpressionAttributeValues={
            ":result": {"M": {"status": {"S": result["status"]}, "detail": {"S": json.dumps(result)}}}
        },
    )


def record(app: AppEnv, rollout_id: str, account: str, region: str, status: str, **more: Any) -> None:
    """What RecordRegionInAccount writes: the target's result."""
    result: dict[str, Any] = {"rolloutId": rollout_id, "account": account, "region": region, "status": status}
    result["action"] = "APPLY"
    result |= {"step": None, "error": None, "changes": {"secret": "created", "rule": "created", "template": "created"}}
    set_entry(app, rollout_id, account, "regions", result | more)


def finish(rollout_id: str, **more: Any) -> dict[str, Any]:
    event = {"rolloutId": rollout_id, "prefix": "quay", "regionResults": [{"account": ONE}, {"account": TWO}]}
    return FINISH.handler(event | more, FakeContext())


def start(accounts: list[str], **rollout: Any) -> dict[str, Any]:
    status, started = api(
        "POST", "/rules", {"upstreamRegistry": "quay", "regions": REGIONS, "accounts": accounts, "rollout": rollout}
    )
    assert status == 202, started
    return started


def test_the_execution_carries_account_ids_and_each_account_item_its_targets(app: AppEnv) -> None:
    started = start([ONE, TWO])
    payload = app.execution_input(started["rolloutId"])
    assert payload["scale"] == "ACCOUNTS" and payload["accounts"] == [ONE, TWO]
    assert payload["targets"] == [] and payload["regions"] == []
    assert {(t["account"], t["region"]) for t in started["targets"]} == {(a, r) for a in (ONE, TWO) for r in REGIONS}
    assert started["regions"] == {}  # the home account is not a target
    item = account_item(app, started["rolloutId"], TWO)
    assert json.loads(item["targets"]) == [{"region": r, "action": "APPLY"} for r in REGIONS]
    assert {r: e["status"] for r, e in item["regions"].items()} == dict.fromkeys(REGIONS, "PENDING")


def test_adopt_travels_in_the_execution_input_defaults_to_false_and_is_never_coerced(app: AppEnv) -> None:
    body = {"upstreamRegistry": "quay", "regions": REGIONS, "accounts": [ONE, TWO]}
    started = api("POST", "/rules", body | {"adopt": True})[1]
    assert app.execution_input(started["rolloutId"])["adopt"] is True
    # the default: false (another prefix: the first one's rollout still holds its lock)
    status, again = api("POST", "/rules", body | {"ecrRepositoryPrefix": "quay-two"})
    assert status == 202, again
    assert app.execution_input(again["rolloutId"])["adopt"] is False
    status, refused = api("POST", "/rules", body | {"adopt": "true"})
    assert status in (400, 422) and [e["field"] for e in refused["errors"]] == ["adopt"], refused


def test_a_target_without_a_recorded_result_counts_as_failed(app: AppEnv) -> None:
    started = start([ONE, TWO])
    for account, region in [(ONE, "us-east-1"), (ONE, "eu-west-1"), (TWO, "us-east-1")]:
        record(app, started["rolloutId"], account, region, "SUCCEEDED")
    # (TWO, eu-west-1) has no record: its record write was lost, or it never ran

    assert finish(started["rolloutId"])["rollback"] is True
    assert finish(started["rolloutId"], failureTolerance=1)["status"] == "FAILED"


def test_a_finished_rollout_records_each_accounts_targets_and_the_next_request_removes_a_dropped_account(
    app: AppEnv,
) -> None:
    first = start([ONE, TWO])
    for account in (ONE, TWO):
        for region in REGIONS:
            secret = {"action": "created", "secretArn": f"arn:aws:secretsmanager:{region}:{account}:secret:x-AbC123"}
            record(app, first["rolloutId"], account, region, "SUCCEEDED", secret=secret | {"versionId": "v1"})
    done = finish(first["rolloutId"])
    assert done == {"rolloutId": first["rolloutId"], "status": "SUCCEEDED", "rollback": False}  # small: a task result

    _, shown = api("GET", "/rules/quay")
    assert shown["accounts"] == [ONE, TWO]
    assert sorted((t["account"], t["region"]) for t in shown["deployedTargets"]) == sorted(
        (a, r) for a in (ONE, TWO) for r in REGIONS
    )
    _, rollout = api("GET", f"/rollouts/{first['rolloutId']}")
    assert {t["status"] for t in rollout["targets"]} == {"SUCCEEDED"} and len(rollout["targets"]) == 4

    second = start([ONE])
    removed = [t for t in second["targets"] if t.get("removed")]
    assert sorted((t["account"], t["region"]) for t in removed) == [(TWO, r) for r in sorted(REGIONS)]
    assert json.loads(account_item(app, second["rolloutId"], TWO)["targets"]) == [
        {"region": r, "action": "REMOVE"} for r in sorted(REGIONS)
    ]


def test_a_rule_across_accounts_refuses_a_role_of_one_account(app: AppEnv) -> None:
    body = {
        "upstreamRegistry": "ecr",
        "upstreamRegistryUrl": f"{HOME}.dkr.ecr.us-east-1.amazonaws.com",
        "customRoleArn": f"arn:aws:iam::{HOME}:role/ecr-upstream",
        "regions": REGIONS,
        "accounts": [ONE, TWO],
    }
    status, refused = api("POST", "/rules", body)
    assert status == 422, refused
    assert refused["errors"][0]["field"] == "customRoleArn"
    assert app.executions() == []


def test_the_finished_event_lists_failed_targets_first_and_counts_every_one() -> None:
    targets = [{"account": ONE, "region": f"r{i}", "status": "SUCCEEDED"} for i in range(EVENT_TARGETS_MAX + 50)]
    targets[-1]["status"] = "FAILED"
    summary = event_summary({"status": "FAILED", "targets": targets})
    assert len(summary["targets"]) == EVENT_TARGETS_MAX
    assert summary["targets"][0]["status"] == "FAILED"
    assert summary["targetCounts"] == {"SUCCEEDED": EVENT_TARGETS_MAX + 49, "FAILED": 1}
    small = event_summary({"targets": targets[:3]})
    assert small["targets"] == targets[:3] and small["targetCounts"] == {"SUCCEEDED": 3}


def rollback_record(app: AppEnv, rollout_id: str, account: str, region: str, status: str) -> None:
    """What RecordRollback writes: the target's rollback outcome."""
    result = {"rolloutId": rollout_id, "account": account, "region": region, "status": status, "error": None}
    set_entry(app, rollout_id, account, "rollback", result)


def test_a_rollback_that_did_not_reach_an_account_fails_and_keeps_its_targets_tracked(app: AppEnv) -> None:
    started = start([ONE, TWO])
    rollout_id = started["rolloutId"]
    record(app, rollout_id, ONE, "us-east-1", "FAILED", error={"Error": "RuleValidationFailed", "Cause": "no"})
    record(app, rollout_id, ONE, "eu-west-1", "SUCCEEDED")
    for region in REGIONS:
        record(app, rollout_id, TWO, region, "SUCCEEDED")
    assert finish(rollout_id)["rollback"] is True
    # RollbackAccounts: ONE's child recorded its outcomes; TWO's child failed before recording any
    for region in REGIONS:
        rollback_record(app, rollout_id, ONE, region, "ROLLED_BACK")

    done = finish(rollout_id, afterRollback=True, rollbackResults=[])

    assert done["status"] == "FAILED"  # not ROLLED_BACK: TWO may still hold the rule
    _, shown = api("GET", f"/rollouts/{rollout_id}")
    two = [t for t in shown["targets"] if t["account"] == TWO]
    assert {t["status"] for t in two} == {"ROLLBACK_FAILED"}
    assert two[0]["rollbackError"]["type"] == "RollbackNotRecorded"
    _, rule = api("GET", "/rules/quay")
    assert {(TWO, r) for r in REGIONS} <= {(t["account"], t["region"]) for t in rule["deployedTargets"]}


def test_a_start_that_fails_writing_account_items_leaves_the_desired_rule_as_it_was(
    app: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = start([ONE])
    for region in REGIONS:
        record(app, first["rolloutId"], ONE, region, "SUCCEEDED")
    assert finish(first["rolloutId"])["status"] == "SUCCEEDED"

    def unprocessed(*_: Any, **__: Any) -> None:
        raise AwsTransientError("DynamoDB left items unprocessed after 8 attempts")

    original = RolloutStore.put_account_targets
    monkeypatch.setattr(RolloutStore, "put_account_targets", unprocessed)
    status, _ = api("POST", "/rules", {"upstreamRegistry": "quay", "regions": ["us-west-2"], "accounts": [ONE, TWO]})

    assert status == 503
    _, rule = api("GET", "/rules/quay")
    assert (rule["regions"], rule["accounts"], rule["lastRolloutId"]) == (REGIONS, [ONE], first["rolloutId"])
    monkeypatch.setattr(RolloutStore, "put_account_targets", original)  # and the lock was released: the next starts
    assert api("POST", "/rules", {"upstreamRegistry": "quay", "regions": REGIONS, "accounts": [ONE]})[0] == 202


def test_an_account_leaving_a_retaining_rule_waits_for_the_rule_to_be_free(
    app: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = boto3.client("organizations", region_name="us-east-1")  # the fixture made the organization
    root = org.list_roots()["Roots"][0]["Id"]
    unit = org.create_organizational_unit(ParentId=root, Name="team")["OrganizationalUnit"]["Id"]
    member = org.create_account(AccountName="m", Email="m@example.com")["CreateAccountStatus"]["AccountId"]
    org.move_account(AccountId=member, SourceParentId=root, DestinationParentId=unit)
    body = {
        "upstreamRegistry": "quay",
        "regions": REGIONS,
        "organizationalUnits": [unit],
        "retainOnAccountRemoval": True,
    }
    status, running = api("POST", "/rules", body)  # its execution stays RUNNING (this state machine does not run)
    assert status == 202 and [t["account"] for t in running["targets"]] == [member, member]
    org.move_account(AccountId=member, SourceParentId=unit, DestinationParentId=root)

    with pytest.raises(PrefixBusy):  # the event is retried: the running rollout would record the account again
        AccountMembership(rollouts_from_env(organization=True)).account_changed(member)

    _, rule = api("GET", "/rules/quay")
    assert rule["lastRolloutId"] == running["rolloutId"]
    stored = RolloutStore(boto3.client("dynamodb", region_name="us-east-1"), app.table).get_rule("quay")
    assert stored is not None and stored["targetAccounts"] == [member]  # still tracked: not forgotten behind its back


def test_the_management_account_moving_into_a_targeted_ou_gets_no_rollout_unless_it_is_home(
    app: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Service-managed StackSets never deploy the execution role to the management account: a rollout there would
    only fail (ExecutionRoleUnavailable) and roll back."""
    org = boto3.client("organizations", region_name="us-east-1")
    # (the app fixture made the organization, with ONE and TWO as members)
    root = org.list_roots()["Roots"][0]["Id"]
    unit = org.create_organizational_unit(ParentId=root, Name="team")["OrganizationalUnit"]["Id"]
    org.move_account(AccountId=HOME, SourceParentId=root, DestinationParentId=unit)  # HOME manages the org
    store = RolloutStore(boto3.client("dynamodb", region_name="us-east-1"), app.table)
    status, started = api("POST", "/rules", {"upstreamRegistry": "quay", "regions": REGIONS, "accounts": [ONE]})
    assert status == 202, started
    store.update_rule("quay", organizationalUnits=[unit])  # as if the rule targeted the OU too
    store.release_lock("quay", started["rolloutId"])  # its rollout ended (this state machine does not run)
    monkeypatch.setenv("HOME_ACCOUNT_ID", ONE)  # pullthrough deployed in a member account

    outcomes = AccountMembership(rollouts_from_env(organization=True)).account_changed(HOME)

    assert outcomes == [{"prefix": "quay", "action": "none"}]


def test_an_account_joining_a_targeted_ou_keeps_the_rules_smoke_pull(app: AppEnv) -> None:
    """The convergence for a joining account writes the desired rule again: every desired field stays."""
    org = boto3.client("organizations", region_name="us-east-1")  # the fixture made the organization
    root = org.list_roots()["Roots"][0]["Id"]
    unit = org.create_organizational_unit(ParentId=root, Name="pulls")["OrganizationalUnit"]["Id"]
    body = {
        "upstreamRegistry": "quay",
        "regions": REGIONS,
        "organizationalUnits": [unit],
        "smokePull": {"image": "coreos/etcd:v3.5.0"},
    }
    status, started = api("POST", "/rules", body)
    assert status == 202, started
    FINISH.handler({"rolloutId": started["rolloutId"], "prefix": "quay", "regionResults": []}, FakeContext())
    member = org.create_account(AccountName="joins", Email="j@example.com")["CreateAccountStatus"]["AccountId"]
    org.move_account(AccountId=member, SourceParentId=root, DestinationParentId=unit)

    [outcome] = AccountMembership(rollouts_from_env(organization=True)).account_changed(member)

    assert outcome["action"] == "deploy", outcome
    stored = RolloutStore(boto3.client("dynamodb", region_name="us-east-1"), app.table).get_rule("quay")
    assert stored is not None and stored["smokePull"] == {"image": "coreos/etcd:v3.5.0"}
