"""Rollback: every resource back to its recorded prior state, whatever the steps did; safe to repeat."""

from __future__ import annotations

import json

import boto3

from tests.integration.steps_support import hold, region_snapshot, run, run_all, task
from tests.support import CallLog

TARGET = "eu-west-1"


def test_rolling_back_a_fresh_rollout_deletes_everything_it_created(source_secret: str) -> None:
    before = region_snapshot(TARGET, "docker-hub")
    state = run_all(task(sourceSecretArn=source_secret))
    assert region_snapshot(TARGET, "docker-hub")["rule"] is not None
    out = run("rollback", state)
    assert out == {"region": TARGET, "template": "deleted", "rule": "deleted", "secret": "deleted"}
    assert region_snapshot(TARGET, "docker-hub") == before == {"rule": None, "template": None, "secret": None}


def test_rolling_back_over_existing_resources_restores_each_one(source_secret: str, call_log: CallLog) -> None:
    # Given a region that already holds an older rule, secret and template for the prefix
    sm = boto3.client("secretsmanager", region_name=TARGET)
    ecr = boto3.client("ecr", region_name=TARGET)
    old = sm.create_secret(
        Name="ecr-pullthroughcache/docker-hub", SecretString=json.dumps({"username": "old", "accessToken": "old"})
    )
    ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix="docker-hub",
        upstreamRegistryUrl="registry-1.docker.io",
        upstreamRegistry="docker-hub",
        credentialArn=old["ARN"],
        upstreamRepositoryPrefix="library",
    )
    ecr.create_repository_creation_template(
        prefix="docker-hub", appliedFor=["PULL_THROUGH_CACHE"], imageTagMutability="IMMUTABLE", description="old"
    )
    before = region_snapshot(TARGET, "docker-hub")

    # When a rollout that takes them over ("adopt") changes all three and is rolled back
    state = run_all(task(sourceSecretArn=source_secret, adopt=True))
    assert (state["storeSecret"]["action"], state["createRule"]["action"], state["applyTemplate"]["action"]) == (
        "updated",
        "replaced",
        "updated",
    )
    taken = region_snapshot(TARGET, "docker-hub")
    assert taken["secret"]["tags"] == {"managed-by": "pullthrough", "pullthrough:prefix": "docker-hub"}
    run("rollback", state)

    # Then the region is exactly as it was (the secret untagged again), and a second rollback writes nothing
    assert region_snapshot(TARGET, "docker-hub") == before
    call_log.clear()
    assert run("rollback", state) == {
        "region": TARGET,
        "template": "unchanged",
        "rule": "unchanged",
        "secret": "unchanged",
    }
    assert call_log.writes() == []


def test_rolling_back_an_in_place_credential_update_restores_the_old_credential_arn(source_secret: str) -> None:
    state = run_all(task(sourceSecretArn=source_secret))
    hold("docker-hub", TARGET)  # the first rollout finished: pullthrough's record holds the region
    sm = boto3.client("secretsmanager", region_name=TARGET)
    other = sm.create_secret(Name="ecr-pullthroughcache/other", SecretString='{"username":"u","accessToken":"t"}')[
        "ARN"
    ]
    before = region_snapshot(TARGET, "docker-hub")
    updated = state | {"rolloutId": "r-second", "storeSecret": {"action": "unchanged", "secretArn": other}}
    run("snapshot_region", updated)
    updated["createRule"] = run("create_rule", updated)
    assert updated["createRule"]["action"] == "updated"
    updated["applyTemplate"] = {"action": "unchanged"}
    assert run("rollback", updated)["rule"] == "updated"
    assert region_snapshot(TARGET, "docker-hub") == before


def test_a_change_whose_reply_was_lost_is_still_rolled_back(source_secret: str) -> None:
    # Given a step whose first attempt wrote but whose reply was lost, so the retry saw "unchanged"
    base = task(sourceSecretArn=source_secret)
    run("snapshot_region", base)
    state = base | {"storeSecret": run("store_secret", base)}
    run("create_rule", state)
    assert run("create_rule", state)["action"] == "unchanged"
    # When the region is rolled back, the snapshot (taken before any write) still knows there was no rule
    run("rollback", state)
    assert region_snapshot(TARGET, "docker-hub") == {"rule": None, "template": None, "secret": None}


def test_a_region_never_snapshotted_was_never_touched_and_rollback_leaves_it_alone(
    moto_aws: None, call_log: CallLog
) -> None:
    out = run("rollback", task("rollback", rolloutId="r-never"))
    assert out == {"region": TARGET, "template": "unchanged", "rule": "unchanged", "secret": "unchanged"}
    assert [c for c in call_log.calls if c[0] != "dynamodb"] == []
