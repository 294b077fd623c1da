"""Where a rollout acts and where the prefix is held afterwards: pure functions of the rule item and results."""

from __future__ import annotations

from typing import Any

from pullthrough.desired import (
    by_account,
    deployed_after,
    held_targets,
    removal_targets,
    rule_view,
    source_version,
    targets,
)
from pullthrough.regions import pull_uri_prefix

HOME, OTHER, THIRD = "111111111111", "222222222222", "333333333333"


def at(account: str, region: str, action: str) -> dict[str, str]:
    return {"account": account, "region": region, "action": action}


def test_targets_apply_the_desired_regions_in_order_and_remove_every_other_held_one() -> None:
    previous = {"regions": ["b", "c"], "deployed": {"a": {}, "b": {}, "c": {}}}
    assert targets(["c", "d"], previous, HOME) == [
        at(HOME, "c", "APPLY"),
        at(HOME, "d", "APPLY"),
        at(HOME, "a", "REMOVE"),
        at(HOME, "b", "REMOVE"),
    ]


def test_a_rule_recorded_before_deployed_existed_counts_its_desired_regions_as_held() -> None:
    assert targets(["a"], {"regions": ["a", "b"]}, HOME) == [at(HOME, "a", "APPLY"), at(HOME, "b", "REMOVE")]
    assert targets(["a"], None, HOME) == [at(HOME, "a", "APPLY")]


def test_targets_across_accounts_apply_each_desired_account_and_remove_accounts_no_longer_desired() -> None:
    previous = {
        "regions": ["a"],
        "targetAccounts": [OTHER, THIRD],
        "deployed": {},
        "deployedElsewhere": {OTHER: {"a": {}}, THIRD: {"a": {}, "z": {}}},
    }
    assert targets(["a", "b"], previous, HOME, [OTHER]) == [
        at(OTHER, "a", "APPLY"),
        at(OTHER, "b", "APPLY"),
        at(THIRD, "a", "REMOVE"),
        at(THIRD, "z", "REMOVE"),
    ]


def test_delete_targets_every_target_desired_or_held() -> None:
    assert removal_targets({"regions": ["b"], "deployed": {"a": {}}}, HOME) == [
        at(HOME, "a", "REMOVE"),
        at(HOME, "b", "REMOVE"),
    ]
    previous = {"regions": ["b"], "targetAccounts": [OTHER], "deployed": {}, "deployedElsewhere": {THIRD: {"c": {}}}}
    assert removal_targets(previous, HOME) == [at(OTHER, "b", "REMOVE"), at(THIRD, "c", "REMOVE")]
    assert removal_targets(previous, HOME, [THIRD]) == [at(THIRD, "c", "REMOVE")]


def test_deployed_after_applies_removals_keeps_failed_targets_and_tracks_failed_undos_and_lost_results() -> None:
    previous = {(HOME, r): {"secretVersionId": "v0"} for r in "abc"} | {(OTHER, "a"): {"secretVersionId": "v0"}}
    results: list[dict[str, Any]] = [
        {"region": "a", "status": "SUCCEEDED", "action": "APPLY", "secret": {"secretArn": "arn-a", "versionId": "v1"}},
        {"region": "b", "status": "SUCCEEDED", "action": "REMOVE"},
        {"region": "c", "status": "FAILED", "action": "APPLY"},
        {"region": "d", "status": "ROLLBACK_FAILED", "action": "APPLY"},
        {"region": "e", "status": "SKIPPED", "action": "APPLY"},
        {"account": OTHER, "region": "a", "status": "SUCCEEDED", "action": "REMOVE"},
        {"account": THIRD, "region": "f", "status": "PENDING", "action": "APPLY"},
    ]
    after = deployed_after(previous, results, "r-1", HOME)
    assert after == {
        (HOME, "a"): {"secretArn": "arn-a", "secretVersionId": "v1", "rolloutId": "r-1"},
        (HOME, "c"): {"secretVersionId": "v0"},
        (HOME, "d"): {"rolloutId": "r-1"},
        (THIRD, "f"): {"rolloutId": "r-1"},
    }
    assert by_account(after)[THIRD] == {"f": {"rolloutId": "r-1"}}
    assert held_targets({"deployed": {"a": {}}, "deployedElsewhere": by_account(after)}, HOME).keys() == (
        {(HOME, "a")} | set(after)
    )


def test_source_version_is_the_one_any_region_copied() -> None:
    assert source_version([{"secret": {"action": "skipped"}}, {"secret": {"sourceVersionId": "s1"}}]) == "s1"
    assert source_version([{"region": "a"}]) is None


def test_the_rule_view_has_the_prefix_and_no_storage_keys() -> None:
    item = {
        "pk": "RULES",
        "sk": "team/hub",
        "rule": {"upstreamRegistry": "quay"},
        "regions": ["a"],
        "deployed": {"b": {}},
    }
    view = rule_view(item, HOME)
    assert view["prefix"] == "team/hub"
    assert view["deployedRegions"] == ["b"]
    assert view["deployedCounts"] == {"targets": 1, "accounts": 1, "regions": 1}
    assert "pk" not in view and "sk" not in view and "deployed" not in view


def test_each_deployed_target_says_where_to_pull_through_the_rule() -> None:
    # GET /rules/{prefix} gives each target this (pullthrough.rollouts.view.rule_of, a page at a time)
    assert pull_uri_prefix(HOME, "eu-west-1", "team/hub") == f"{HOME}.dkr.ecr.eu-west-1.amazonaws.com/team/hub/"
    assert pull_uri_prefix(OTHER, "us-east-1", "team/hub") == f"{OTHER}.dkr.ecr.us-east-1.amazonaws.com/team/hub/"
    assert pull_uri_prefix(HOME, "eu-west-1", "ROOT") == f"{HOME}.dkr.ecr.eu-west-1.amazonaws.com/"
    assert pull_uri_prefix(HOME, "cn-north-1", "x") == f"{HOME}.dkr.ecr.cn-north-1.amazonaws.com.cn/x/"
