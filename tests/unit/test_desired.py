"""Where a rollout acts and where the prefix is held afterwards: pure functions of the rule item and results."""

from __future__ import annotations

from typing import Any

from pullthrough.desired import deployed_after, removal_targets, rule_view, source_version, targets


def test_targets_apply_the_desired_regions_in_order_and_remove_every_other_held_one() -> None:
    previous = {"regions": ["b", "c"], "deployed": {"a": {}, "b": {}, "c": {}}}
    assert targets(["c", "d"], previous) == [
        {"region": "c", "action": "APPLY"},
        {"region": "d", "action": "APPLY"},
        {"region": "a", "action": "REMOVE"},
        {"region": "b", "action": "REMOVE"},
    ]


def test_a_rule_recorded_before_deployed_existed_counts_its_desired_regions_as_held() -> None:
    assert targets(["a"], {"regions": ["a", "b"]}) == [
        {"region": "a", "action": "APPLY"},
        {"region": "b", "action": "REMOVE"},
    ]
    assert targets(["a"], None) == [{"region": "a", "action": "APPLY"}]


def test_delete_targets_every_region_desired_or_held() -> None:
    assert removal_targets({"regions": ["b"], "deployed": {"a": {}}}) == [
        {"region": "a", "action": "REMOVE"},
        {"region": "b", "action": "REMOVE"},
    ]


def test_deployed_after_applies_removals_keeps_failed_regions_and_tracks_failed_undos() -> None:
    previous = {"a": {"secretVersionId": "v0"}, "b": {"secretVersionId": "v0"}, "c": {"secretVersionId": "v0"}}
    results: list[dict[str, Any]] = [
        {"region": "a", "status": "SUCCEEDED", "action": "APPLY", "secret": {"secretArn": "arn-a", "versionId": "v1"}},
        {"region": "b", "status": "SUCCEEDED", "action": "REMOVE"},
        {"region": "c", "status": "FAILED", "action": "APPLY"},
        {"region": "d", "status": "ROLLBACK_FAILED", "action": "APPLY"},
        {"region": "e", "status": "SKIPPED", "action": "APPLY"},
    ]
    assert deployed_after(previous, results, "r-1") == {
        "a": {"secretArn": "arn-a", "secretVersionId": "v1", "rolloutId": "r-1"},
        "c": {"secretVersionId": "v0"},
        "d": {"rolloutId": "r-1"},
    }


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
    view = rule_view(item)
    assert view["prefix"] == "team/hub"
    assert view["deployedRegions"] == ["b"]
    assert "pk" not in view and "sk" not in view and "deployed" not in view
