"""The drift sweep across accounts on moto: every (account, region) a rule is desired or held in is read, through
the account's execution role, in a fixed number of calls; findings name their account; repairs keep the accounts."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from pullthrough.adapters.store import RolloutStore
from pullthrough.drift.inventory import RegionInventory, read_inventory
from pullthrough.drift.sweep import DriftSweep
from pullthrough.wiring import rollouts_from_env
from tests.integration.app_support import AppEnv, Member, api, member_account, provision
from tests.integration.steps_support import run_all
from tests.support import ACCOUNT, CANARY, HOME, CallLog, FakeContext, load_event, load_handler

SWEEP = load_handler("drift_sweep")
FINISH = load_handler("finish_rollout")
REGIONS = ["eu-west-1", "ap-southeast-2"]
PREFIX = "docker-hub"
THREE_READS = {"DescribePullThroughCacheRules", "DescribeRepositoryCreationTemplates", "ListSecrets"}


@pytest.fixture
def app(moto_aws: None, monkeypatch: pytest.MonkeyPatch) -> AppEnv:
    monkeypatch.delenv("DRIFT_MODE", raising=False)
    return provision(monkeypatch)


@pytest.fixture
def member(app: AppEnv) -> Member:
    """Given: a member account with pullthrough's execution role."""
    return member_account()


def store() -> RolloutStore:
    return RolloutStore(boto3.client("dynamodb", region_name=HOME), "pullthrough-test")


def _held(client: Any, rollout_id: str) -> dict[str, Any]:
    found = client.describe_secret(SecretId=f"ecr-pullthroughcache/{PREFIX}")
    [version] = [v for v, stages in found["VersionIdsToStages"].items() if "AWSCURRENT" in stages]
    return {"secretArn": found["ARN"], "secretVersionId": version, "rolloutId": rollout_id}


def rolled_out_to_two_accounts(app: AppEnv, member: Member) -> str:
    """Given: a docker-hub rule desired and deployed in the home account and the member, in both REGIONS, recorded as
    a finished rollout records it (``deployed`` for the home account, a per-account item for the member)."""
    body = {
        "upstreamRegistry": "docker-hub",
        "ecrRepositoryPrefix": PREFIX,
        "credentials": {"username": "octocat", "accessToken": CANARY},
        "regions": REGIONS,
    }
    status, started = api("POST", "/rules", body)
    assert status == 202, started
    execution = app.execution_input(started["rolloutId"])
    rollout_id = execution["rolloutId"]
    for account in (None, member.id):
        for region in REGIONS:
            run_all({**execution, "region": region, **({"account": account} if account else {})})
    results = [{"region": r, "status": "SUCCEEDED", "step": "ApplyTemplate"} for r in REGIONS]
    FINISH.handler({"rolloutId": rollout_id, "prefix": PREFIX, "regionResults": results}, FakeContext())
    home = {r: _held(boto3.client("secretsmanager", region_name=r), rollout_id) for r in REGIONS}
    elsewhere = {member.id: {r: _held(member.client("secretsmanager", r), rollout_id) for r in REGIONS}}
    store().save_deployed(
        PREFIX, home, elsewhere, {}, accounts=[ACCOUNT, member.id], targetAccounts=[ACCOUNT, member.id]
    )
    return rollout_id


def sweep(mode: str = "report") -> dict[str, Any]:
    summary: dict[str, Any] = SWEEP.handler({"mode": mode}, FakeContext())
    return summary


def test_every_account_and_region_is_read_through_its_role_in_three_reads_and_validated_once_and_found_in_sync(
    app: AppEnv, member: Member, call_log: CallLog
) -> None:
    rolled_out_to_two_accounts(app, member)
    call_log.clear()

    summary = sweep()

    [report] = summary["prefixes"]
    assert (report["inSync"], report["drift"], report["targets"]) == (True, [], [])
    assert summary["checkedTargets"] == 4  # 2 accounts x 2 regions (no source version recorded: home region unread)
    assert summary["unreadableAccounts"] == {} and summary["unreadableTargets"] == []
    per_target = call_log.per_target(("ecr", "secretsmanager"), ACCOUNT)
    wanted = {(a, r) for a in (ACCOUNT, member.id) for r in REGIONS}
    assert wanted <= set(per_target)
    # Three reads, and ECR's validation of the rule (its health: one call per rule and target)
    assert all(per_target[target] == 4 for target in wanted), per_target
    assert summary["health"][PREFIX]["status"] == "healthy" and len(summary["health"][PREFIX]["targets"]) == 4
    # The member's calls went through its execution role (an assumed-role client), none made with home credentials.
    member_calls = [op for (svc, region, op), acting in zip(call_log.calls, call_log.acting, strict=True) if acting]
    assert set(member_calls) == THREE_READS | {"ValidatePullThroughCacheRule"}


def test_a_rule_deleted_in_one_member_region_is_reported_there_only_and_shown_by_the_api(
    app: AppEnv, member: Member
) -> None:
    rolled_out_to_two_accounts(app, member)
    member.client("ecr", "ap-southeast-2").delete_pull_through_cache_rule(ecrRepositoryPrefix=PREFIX)

    summary = sweep()

    [report] = summary["prefixes"]
    finding = {
        "account": member.id,
        "region": "ap-southeast-2",
        "resource": "rule",
        "kind": "missing",
        "fields": [],
        "message": f"{member.id} ap-southeast-2: rule missing",
    }
    assert report["targets"] == [finding]
    assert report["drift"] == []  # the home account's findings, in the shape they always had: none here
    assert report["inSync"] is False and summary["drifted"] == [PREFIX]
    status, rule = api("GET", f"/rules/{PREFIX}")
    assert status == 200 and rule["drift"]["targets"] == [finding]


def test_a_home_finding_keeps_its_old_shape_and_is_listed_with_its_account_too(app: AppEnv, member: Member) -> None:
    rolled_out_to_two_accounts(app, member)
    boto3.client("ecr", region_name="eu-west-1").delete_pull_through_cache_rule(ecrRepositoryPrefix=PREFIX)

    [report] = sweep()["prefixes"]

    old = {
        "region": "eu-west-1",
        "resource": "rule",
        "kind": "missing",
        "fields": [],
        "message": "eu-west-1: rule missing",
    }
    assert report["drift"] == [old]
    assert report["targets"] == [{"account": ACCOUNT, **old}]


def test_an_account_no_longer_targeted_that_still_holds_the_prefix_is_drift(app: AppEnv, member: Member) -> None:
    rolled_out_to_two_accounts(app, member)
    store().update_rule(PREFIX, accounts=None, targetAccounts=[ACCOUNT])

    [report] = sweep()["prefixes"]

    assert [(f["account"], f["message"]) for f in report["targets"]] == [
        (member.id, f"{member.id} {region}: holds the prefix but is not a desired target (rule, template, secret)")
        for region in REGIONS
    ]


def test_a_repair_rolls_the_rule_out_again_to_the_same_accounts(app: AppEnv, member: Member) -> None:
    rolled_out_to_two_accounts(app, member)
    member.client("ecr", "eu-west-1").delete_pull_through_cache_rule(ecrRepositoryPrefix=PREFIX)

    summary = sweep("repair")

    [repair] = summary["repairsStarted"]
    rule = store().get_rule(PREFIX)
    assert rule is not None and rule["lastRolloutId"] == repair["rolloutId"]
    # The repair's request named the same accounts: the rule's desired state still reaches the member.
    assert rule.get("accounts") == [ACCOUNT, member.id] and sorted(rule["targetAccounts"]) == sorted(
        [ACCOUNT, member.id]
    )


def test_an_account_whose_role_cannot_be_assumed_is_unreadable_for_that_account_only(
    app: AppEnv, member: Member, monkeypatch: pytest.MonkeyPatch
) -> None:
    rolled_out_to_two_accounts(app, member)
    asked: list[tuple[str | None, str]] = []

    def reader(region: str, reads: frozenset[str], account: str | None = None) -> RegionInventory:
        asked.append((account, region))
        if account == member.id:
            refused = f"ExecutionRoleUnavailable: PullthroughExecutionRole cannot be assumed in {member.id}"
            return RegionInventory(error=refused, role_unavailable=True)
        return read_inventory(region, reads, account)

    summary = DriftSweep(rollouts_from_env(trigger="sweep"), read=reader).run("report")

    error = f"ExecutionRoleUnavailable: PullthroughExecutionRole cannot be assumed in {member.id}"
    assert summary["unreadableAccounts"] == {member.id: error}
    assert summary["unreadableTargets"] == [] and summary["unreadableRegions"] == {}
    assert [a for a, _ in asked].count(member.id) == 1  # asked once, not once per region
    [report] = summary["prefixes"]
    assert report["targets"] == [] and report["inSync"] is False
    assert report["uncheckedTargets"] == [{"account": member.id, "region": r, "error": error} for r in REGIONS]
    assert "unchecked" not in report  # the home account was read
    assert summary["checkedRegions"] == sorted(REGIONS)


def test_the_scheduled_event_sweeps_every_account(app: AppEnv, member: Member) -> None:
    rolled_out_to_two_accounts(app, member)
    member.client("ecr", "eu-west-1").delete_pull_through_cache_rule(ecrRepositoryPrefix=PREFIX)
    summary: dict[str, Any] = SWEEP.handler(load_event("drift_sweep"), FakeContext())
    assert summary["drifted"] == [PREFIX]


def test_an_account_whose_move_event_was_lost_is_found_by_the_sweep_and_given_the_rule_by_a_repair(
    app: AppEnv,
) -> None:
    """Given: a rule for an OU rolled out while the OU was empty; then an account moves in and its MoveAccount event
    never arrives. The sweep expands the OU again: in report mode the account's targets are reported missing, in
    repair mode the repair rollout reaches them."""
    org = boto3.client("organizations", region_name=HOME)
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    unit = org.create_organizational_unit(ParentId=root, Name="team")["OrganizationalUnit"]["Id"]
    body = {"upstreamRegistry": "quay", "ecrRepositoryPrefix": "quay", "regions": REGIONS}
    status, started = api("POST", "/rules", body | {"organizationalUnits": [unit]})
    assert status == 202 and started["targets"] == [], started
    FINISH.handler({"rolloutId": started["rolloutId"], "prefix": "quay", "regionResults": []}, FakeContext())
    late = member_account("late")
    org.move_account(AccountId=late.id, SourceParentId=root, DestinationParentId=unit)  # no event reaches the app

    reported = sweep("report")

    [report] = reported["prefixes"]
    missing = {
        (f["account"], f["region"]) for f in report["targets"] if (f["resource"], f["kind"]) == ("rule", "missing")
    }
    assert missing == {(late.id, r) for r in REGIONS}
    assert reported["repairsStarted"] == []

    repaired = sweep("repair")

    [repair] = repaired["repairsStarted"]
    execution = app.execution_input(repair["rolloutId"])
    _, shown = api("GET", f"/rollouts/{repair['rolloutId']}")
    assert {(t["account"], t["region"]) for t in shown["targets"]} == {(late.id, r) for r in REGIONS}
    for region in REGIONS:
        run_all({**execution, "region": region, "account": late.id})
    for region in REGIONS:
        rules = late.client("ecr", region).describe_pull_through_cache_rules()["pullThroughCacheRules"]
        assert [r["ecrRepositoryPrefix"] for r in rules] == ["quay"]
