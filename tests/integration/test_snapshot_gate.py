"""SnapshotRegion: the tolerance gate only where a target can start after another failed; the reads at once."""

from __future__ import annotations

import boto3
import pytest

from pullthrough import exceptions as ex
from pullthrough.adapters.ecr import EcrRegistry
from pullthrough.adapters.secrets import SecretStore
from pullthrough.adapters.store import RolloutStore
from tests.integration.steps_support import run, task
from tests.support import HOME, CallLog, all_at_once

ROLLOUT = "r-0123456789abcdef0123456789abcdef"  # the sample event's


@pytest.fixture
def past_tolerance(moto_aws: None) -> None:
    """The sample event's rollout already counts 2 failed targets and tolerates none."""
    store = RolloutStore(boto3.client("dynamodb", region_name=HOME), "pullthrough-steps")
    store.put_rollout({"rolloutId": ROLLOUT, "status": "RUNNING", "failedCount": 2, "failureTolerance": 0})


def test_a_target_that_may_start_after_a_failure_is_stopped_by_the_gate(
    past_tolerance: None, call_log: CallLog
) -> None:
    with pytest.raises(ex.PastFailureTolerance, match="2 region"):
        run("snapshot_region", task("snapshot_region"))
    assert call_log.calls == [("dynamodb", HOME, "GetItem")], "nothing read or written in the region"


def test_targets_that_all_start_at_once_skip_the_gate_read(past_tolerance: None, call_log: CallLog) -> None:
    """checkTolerance false (every target started together): no failure can precede the start, so no GetItem."""
    assert run("snapshot_region", task("snapshot_region", checkTolerance=False)) == {"recorded": True}

    assert ("dynamodb", HOME, "GetItem") not in call_log.calls
    assert sorted(op for _, _, op in call_log.calls) == [
        "DescribePullThroughCacheRules",
        "DescribeRepositoryCreationTemplates",
        "DescribeSecret",
        "PutItem",
    ]
    assert call_log.calls[-1] == ("dynamodb", HOME, "PutItem"), "recorded after every read"


def test_a_check_tolerance_that_is_not_a_flag_is_refused_by_name(moto_aws: None) -> None:
    with pytest.raises(ex.InvalidRequest, match="checkTolerance"):
        run("snapshot_region", task("snapshot_region", checkTolerance="no"))


def test_the_three_reads_run_at_once(moto_aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """One round trip to the region, not three: each read waits until all three are in flight (a barrier that
    breaks after 5 s if they were made one after another)."""
    all_at_once(monkeypatch, [(EcrRegistry, "get_rule"), (EcrRegistry, "get_template"), (SecretStore, "details")])
    assert run("snapshot_region", task("snapshot_region", checkTolerance=False)) == {"recorded": True}
