"""RemoveRule (DELETE rollouts): removes template, rule and secret reversibly; rollback and re-apply bring them back."""

from __future__ import annotations

import boto3

from tests.integration.steps_support import region_snapshot, run, run_all, task
from tests.support import CallLog

TARGET = "eu-west-1"


def removal_task(state: dict[str, object]) -> dict[str, object]:
    """A DELETE rollout's task for the same region, snapshotted first as the state machine does."""
    removal = {k: state[k] for k in ("region", "rule")} | {"operation": "DELETE", "rolloutId": "r-delete"}
    run("snapshot_region", removal)
    return removal


def test_removal_takes_everything_out_and_rollback_puts_it_back_exactly(source_secret: str, call_log: CallLog) -> None:
    state = run_all(task(sourceSecretArn=source_secret))
    before = region_snapshot(TARGET, "docker-hub")

    removal = removal_task(state)
    removed = run("remove_rule", removal)
    assert (removed["storeSecret"]["action"], removed["createRule"]["action"], removed["applyTemplate"]["action"]) == (
        "deleted",
        "deleted",
        "deleted",
    )
    assert region_snapshot(TARGET, "docker-hub") == {
        "rule": None,
        "template": None,
        "secret": {"scheduledForDeletion": True},
    }

    call_log.clear()
    assert run("remove_rule", removal) == {
        "storeSecret": {"action": "unchanged"},
        "createRule": {"action": "unchanged"},
        "applyTemplate": {"action": "unchanged"},
    }
    assert call_log.writes() == []

    run("rollback", removal)
    assert region_snapshot(TARGET, "docker-hub") == before


def test_removal_never_reads_the_credential_value_it_schedules_for_deletion(
    source_secret: str, call_log: CallLog
) -> None:
    state = run_all(task(sourceSecretArn=source_secret))
    removal = removal_task(state)
    call_log.clear()
    removed = run("remove_rule", removal)
    assert removed["storeSecret"]["action"] == "deleted"
    secrets_calls = [op for service, _, op in call_log.calls if service == "secretsmanager"]
    assert secrets_calls == ["DescribeSecret", "DeleteSecret"]


def test_a_template_with_other_uses_only_loses_pull_through_cache(source_secret: str) -> None:
    state = run_all(task(sourceSecretArn=source_secret))
    ecr = boto3.client("ecr", region_name=TARGET)
    ecr.update_repository_creation_template(prefix="docker-hub", appliedFor=["PULL_THROUGH_CACHE", "REPLICATION"])
    removed = run("remove_rule", removal_task(state))
    assert removed["applyTemplate"]["action"] == "updated"
    template = ecr.describe_repository_creation_templates(prefixes=["docker-hub"])["repositoryCreationTemplates"][0]
    assert template["appliedFor"] == ["REPLICATION"]


def test_applying_again_after_a_removal_restores_the_scheduled_secret_and_rollback_reschedules_it(
    source_secret: str,
) -> None:
    state = run_all(task(sourceSecretArn=source_secret))
    run("remove_rule", removal_task(state))
    reapply = task(sourceSecretArn=source_secret, rolloutId="r-reapply")
    run("snapshot_region", reapply)
    again = run("store_secret", reapply)
    assert again["action"] == "updated" and again["priorScheduledForDeletion"] is True
    assert region_snapshot(TARGET, "docker-hub")["secret"] is not None
    run("rollback", reapply)
    sm = boto3.client("secretsmanager", region_name=TARGET)
    assert "DeletedDate" in sm.describe_secret(SecretId="ecr-pullthroughcache/docker-hub")


def test_rolling_a_removal_back_twice_leaves_the_scheduled_secret_alone_the_second_time(
    source_secret: str, call_log: CallLog
) -> None:
    state = run_all(task(sourceSecretArn=source_secret))
    first = removal_task(state)
    run("remove_rule", first)  # the secret is now scheduled for deletion
    reapply = task(sourceSecretArn=source_secret, rolloutId="r-again")
    run("snapshot_region", reapply)  # snapshot: secret scheduled for deletion
    run("store_secret", reapply)
    run("rollback", reapply)
    call_log.clear()
    run("rollback", reapply)
    assert [op for service, _, op in call_log.writes() if service == "secretsmanager"] == []
