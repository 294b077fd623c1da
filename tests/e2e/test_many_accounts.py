"""A rule across an Organization: targets are (account, region), reached through each account's execution role.

The embedded stack seeds an Organization (the home account is its management account) with member accounts in two
OUs, each with PullthroughExecutionRole from target-account.yaml, and one member without it. A rollout to several
accounts runs one child execution per account (a Distributed Map); all or nothing still holds across accounts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from local import faults
from local.stack import EmbeddedStack
from tests.e2e.conftest import ApiCall, wait_until

pytestmark = pytest.mark.e2e

REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]
CANARY = "canary-token-many-accounts-7f3e"


def request(prefix: str, regions: list[str] = REGIONS, **fields: Any) -> dict[str, Any]:
    return {
        "upstreamRegistry": "docker-hub",
        "ecrRepositoryPrefix": prefix,
        "credentials": {"username": "org-user", "accessToken": CANARY},
        "regions": regions,
        **fields,
    }


def holds(stack: EmbeddedStack, account: str, region: str, prefix: str) -> dict[str, bool]:
    """What ``account`` holds in ``region`` for the prefix, seen through its execution role."""
    ecr = stack.client("ecr", region, account=account)
    rules = ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"]
    templates = ecr.describe_repository_creation_templates()["repositoryCreationTemplates"]
    secrets = stack.client("secretsmanager", region, account=account).list_secrets()["SecretList"]
    return {
        "rule": any(r["ecrRepositoryPrefix"] == prefix for r in rules),
        "template": any(t["prefix"] == prefix for t in templates),
        "secret": any(s["Name"] == f"ecr-pullthroughcache/{prefix}" for s in secrets),
    }


def apply(api: ApiCall, wait_rollout: Callable[..., dict[str, Any]], body: dict[str, Any]) -> dict[str, Any]:
    status, started = api("POST", "/rules", body)
    assert status == 202, started
    return wait_rollout(started["rolloutId"])


def by_target(rollout: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(t["account"], t["region"]): t for t in rollout["targets"]}


def members_with_role(stack: EmbeddedStack) -> list[str]:
    org = stack.organization
    assert org is not None
    return sorted(a for a in org.members.values() if a != org.account_without_role)


def test_a_rule_to_three_accounts_by_three_regions_reaches_each_through_its_role(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: Callable[..., dict[str, Any]]
) -> None:
    accounts = members_with_role(stack)[:3]
    finished = apply(api, wait_rollout, request("org-three", accounts=accounts))

    assert finished["status"] == "SUCCEEDED", finished
    assert set(by_target(finished)) == {(a, r) for a in accounts for r in REGIONS}
    assert {t["status"] for t in finished["targets"]} == {"SUCCEEDED"}
    assert finished["regions"] == {}  # `regions` is the home account's targets: none here
    for account in accounts:
        for region in REGIONS:
            assert holds(stack, account, region, "org-three") == {"rule": True, "template": True, "secret": True}
    # Nothing landed in the home account, which the request did not name.
    assert holds(stack, stack.account_id, "eu-west-1", "org-three") == {
        "rule": False,
        "template": False,
        "secret": False,
    }
    # The rule's secret in each account is that account's own (ECR takes only a secret of the registry's account).
    rule = stack.client("ecr", "eu-west-1", account=accounts[0]).describe_pull_through_cache_rules(
        ecrRepositoryPrefixes=["org-three"]
    )["pullThroughCacheRules"][0]
    assert rule["credentialArn"].split(":")[4] == accounts[0]

    status, shown = api("GET", "/rules/org-three")
    assert status == 200
    assert shown["accounts"] == accounts
    assert sorted((t["account"], t["region"]) for t in shown["deployedTargets"]) == sorted(
        (a, r) for a in accounts for r in REGIONS
    )
    assert shown["deployedRegions"] == []


def test_dropping_an_account_removes_the_prefix_there_only(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: Callable[..., dict[str, Any]]
) -> None:
    first, second = members_with_role(stack)[:2]
    assert (
        apply(api, wait_rollout, request("org-drop", ["eu-west-1"], accounts=[first, second]))["status"] == "SUCCEEDED"
    )

    finished = apply(api, wait_rollout, request("org-drop", ["eu-west-1"], accounts=[first]))

    assert finished["status"] == "SUCCEEDED", finished
    assert by_target(finished)[(second, "eu-west-1")]["changes"]["rule"] == "deleted"
    assert by_target(finished)[(second, "eu-west-1")].get("removed") is True
    assert holds(stack, second, "eu-west-1", "org-drop") == {"rule": False, "template": False, "secret": False}
    assert holds(stack, first, "eu-west-1", "org-drop")["rule"]


def test_an_organizational_unit_expands_to_exactly_its_accounts(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: Callable[..., dict[str, Any]]
) -> None:
    org = stack.organization
    assert org is not None
    unit = org.ous["workloads"]
    expected = sorted(
        a["Id"]
        for a in _accounts_under(stack, unit)
        if a["Id"] != org.account_without_role  # (the role-less member is placed outside workloads)
    )
    assert expected, "the seeded workloads OU has member accounts"

    finished = apply(api, wait_rollout, request("org-unit", ["eu-west-1"], organizationalUnits=[unit]))

    assert finished["status"] == "SUCCEEDED", finished
    assert sorted(t["account"] for t in finished["targets"]) == expected
    for account in expected:
        assert holds(stack, account, "eu-west-1", "org-unit")["rule"]


def test_an_account_without_the_execution_role_fails_and_every_account_is_rolled_back(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: Callable[..., dict[str, Any]]
) -> None:
    good = members_with_role(stack)[0]
    assert stack.organization is not None
    bad = stack.organization.account_without_role
    finished = apply(api, wait_rollout, request("org-norole", ["eu-west-1", "us-west-2"], accounts=[good, bad]))

    assert finished["status"] == "ROLLED_BACK", finished
    failed = [t for t in finished["targets"] if t["account"] == bad and t["error"]]
    assert failed, finished["targets"]
    assert f"PullthroughExecutionRole cannot be assumed in {bad}" in failed[0]["error"]["message"]
    assert failed[0]["error"]["type"] == "ExecutionRoleUnavailable"
    for region in ("eu-west-1", "us-west-2"):
        assert holds(stack, good, region, "org-norole") == {"rule": False, "template": False, "secret": False}
    status, _ = api("GET", "/rules/org-norole")
    assert status == 404  # the first request for the prefix: nothing desired was left behind


def test_an_account_moved_into_a_targeted_unit_receives_the_rule_and_loses_it_when_moved_out(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: Callable[..., dict[str, Any]]
) -> None:
    org = stack.organization
    assert org is not None
    sandbox, workloads = org.ous["sandbox"], org.ous["workloads"]
    mover = stack.create_member_account("mover", workloads, with_role=True)
    finished = apply(api, wait_rollout, request("org-move", ["eu-west-1"], organizationalUnits=[sandbox]))
    assert finished["status"] == "SUCCEEDED", finished
    assert mover not in {t["account"] for t in finished["targets"]}

    stack.move_account(mover, sandbox)
    wait_until(
        lambda: holds(stack, mover, "eu-west-1", "org-move")["rule"] or None, 60, "the rule in the moved account"
    )
    _settled(api, wait_rollout, "org-move")
    assert holds(stack, mover, "eu-west-1", "org-move") == {"rule": True, "template": True, "secret": True}

    stack.move_account(mover, workloads)
    wait_until(lambda: (not holds(stack, mover, "eu-west-1", "org-move")["rule"]) or None, 60, "the rule gone")
    _settled(api, wait_rollout, "org-move")
    _, shown = api("GET", "/rules/org-move")
    assert mover not in {t["account"] for t in shown["deployedTargets"]}


def test_an_account_moved_in_before_its_execution_role_exists_waits_for_the_role_and_gets_the_rule(
    stack: EmbeddedStack,
    api: ApiCall,
    wait_rollout: Callable[..., dict[str, Any]],
    step_faults: faults.StepFaults,
) -> None:
    """The StackSet that creates the role reaches a new account minutes after the move: the account's rollout waits
    (ExecutionRoleWaitSeconds apart; 1 s on the embedded stack) instead of failing on the first refusal."""
    org = stack.organization
    assert org is not None
    sandbox, workloads = org.ous["sandbox"], org.ous["workloads"]
    late = stack.create_member_account("late-role", workloads, with_role=True)
    assert apply(api, wait_rollout, request("org-late", ["eu-west-1"], organizationalUnits=[sandbox]))["status"] == (
        "SUCCEEDED"
    )
    # The role is not there yet: its first three assumptions are refused, as STS refuses a role that does not exist.
    missing = step_faults.inject("SnapshotRegionFunction", "eu-west-1", error_type="ExecutionRoleUnavailable", times=3)

    stack.move_account(late, sandbox)

    wait_until(lambda: holds(stack, late, "eu-west-1", "org-late")["rule"] or None, 90, "the rule in the account")
    _settled(api, wait_rollout, "org-late")
    assert missing.hits == 3
    assert holds(stack, late, "eu-west-1", "org-late") == {"rule": True, "template": True, "secret": True}


def test_an_account_moved_out_keeps_the_rule_when_the_rule_retains_it(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: Callable[..., dict[str, Any]]
) -> None:
    org = stack.organization
    assert org is not None
    sandbox, workloads = org.ous["sandbox"], org.ous["workloads"]
    keeper = stack.create_member_account("keeper", sandbox, with_role=True)
    body = request("org-retain", ["eu-west-1"], organizationalUnits=[sandbox], retainOnAccountRemoval=True)
    assert apply(api, wait_rollout, body)["status"] == "SUCCEEDED"
    assert holds(stack, keeper, "eu-west-1", "org-retain")["rule"]

    stack.move_account(keeper, workloads)

    def untracked() -> bool | None:
        _, shown = api("GET", "/rules/org-retain")
        return keeper not in {t["account"] for t in shown["deployedTargets"]} or None

    wait_until(untracked, 60, "the account no longer tracked")
    assert holds(stack, keeper, "eu-west-1", "org-retain") == {"rule": True, "template": True, "secret": True}


def _accounts_under(stack: EmbeddedStack, parent: str) -> list[dict[str, Any]]:
    """Every account under ``parent``, nested OUs included (moto's Organizations, as the org holds them)."""
    org = stack.client("organizations", "us-east-1")
    found = list(org.list_accounts_for_parent(ParentId=parent)["Accounts"])
    for child in org.list_children(ParentId=parent, ChildType="ORGANIZATIONAL_UNIT")["Children"]:
        found.extend(_accounts_under(stack, child["Id"]))
    return found


def _settled(api: ApiCall, wait_rollout: Callable[..., dict[str, Any]], prefix: str) -> None:
    """Wait for the prefix's last rollout (started by an account event) to finish, and check it succeeded."""
    _, shown = api("GET", f"/rules/{prefix}")
    finished = wait_rollout(shown["lastRolloutId"])
    assert finished["status"] == "SUCCEEDED", finished


def test_a_tolerated_failure_is_reported_and_the_other_accounts_keep_the_rule(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: Callable[..., dict[str, Any]]
) -> None:
    assert stack.organization is not None
    good, bad = members_with_role(stack)[0], stack.organization.account_without_role
    body = request("org-tolerate", ["eu-west-1"], accounts=[good, bad], rollout={"failureTolerancePercentage": 50})

    finished = apply(api, wait_rollout, body)

    assert finished["status"] == "FAILED", finished  # not hidden: the rollout did not fully succeed
    targets = by_target(finished)
    assert targets[(good, "eu-west-1")]["status"] == "SUCCEEDED"
    assert targets[(bad, "eu-west-1")]["status"] == "FAILED"
    assert targets[(bad, "eu-west-1")]["error"]["type"] == "ExecutionRoleUnavailable"
    assert holds(stack, good, "eu-west-1", "org-tolerate") == {"rule": True, "template": True, "secret": True}
    _, shown = api("GET", "/rules/org-tolerate")
    assert [(t["account"], t["region"]) for t in shown["deployedTargets"]] == [(good, "eu-west-1")]


def test_a_move_made_with_the_organizations_api_itself_deploys_the_rule_as_on_aws(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: Callable[..., dict[str, Any]]
) -> None:
    """`aws organizations move-account` against the emulator: no helper of the stack's delivers an event. The emulator
    emits Organizations' CloudTrail event on the management account's default bus, and the forwarding rule
    (org-events.yaml's, locally) hands it to the app, which rolls the rule out to the account."""
    org = stack.organization
    assert org is not None
    sandbox, workloads = org.ous["sandbox"], org.ous["workloads"]
    mover = stack.create_member_account("cli-mover", workloads, with_role=True)
    finished = apply(api, wait_rollout, request("org-cli-move", ["eu-west-1"], organizationalUnits=[sandbox]))
    assert finished["status"] == "SUCCEEDED" and mover not in {t["account"] for t in finished["targets"]}

    stack.client("organizations").move_account(AccountId=mover, SourceParentId=workloads, DestinationParentId=sandbox)
    wait_until(
        lambda: holds(stack, mover, "eu-west-1", "org-cli-move")["rule"] or None, 60, "the rule in the moved account"
    )
    _settled(api, wait_rollout, "org-cli-move")
