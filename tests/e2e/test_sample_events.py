"""Every file in events/ works as-is on the embedded stack once ``make local``'s seeding ran (local.samples), fed
to its function the way ``aws lambda invoke --endpoint-url ... --payload fileb://events/<file>`` does; the request
bodies (rule_request_*.json) through POST /rules. ``make local`` prints the app's events (local.bus_log)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from local import bus_log, samples
from local.stack import EmbeddedStack
from tests.e2e.conftest import ApiCall, wait_until
from tests.support import ROOT, load_event

pytestmark = pytest.mark.e2e

# In the order the state machine runs the steps: each step's sample follows the one whose output it holds.
STEP_EVENTS = [
    ("api_get_rollout", "ApiFunction"),
    ("snapshot_region", "SnapshotRegionFunction"),
    ("store_secret", "StoreSecretFunction"),
    ("create_rule", "CreateRuleFunction"),
    ("validate_rule", "ValidateRuleFunction"),
    ("apply_template", "ApplyTemplateFunction"),
    ("smoke_pull", "SmokePullFunction"),
    ("finish_rollout", "FinishRolloutFunction"),
    ("recover_rollout", "RecoverRolloutFunction"),
    ("rollback", "RollbackFunction"),
    ("remove_rule", "RemoveRuleFunction"),
    ("drift_sweep", "DriftSweepFunction"),
    ("drift_sweep_on_demand", "DriftSweepFunction"),
    ("api_post_rules", "ApiFunction"),
    ("rule_requested", "RuleRequestedFunction"),
    ("source_secret_changed", "SourceSecretChangedFunction"),
]
REQUEST_BODIES = ["rule_request_docker_hub", "rule_request_quay"]


@pytest.fixture(scope="module")
def seeded(stack: EmbeddedStack) -> Iterator[list[str]]:
    lines = samples.seed(stack)
    bus_log.install(stack)
    yield lines
    samples.unseed()


def test_every_sample_event_is_covered_here() -> None:
    files = {path.stem for path in (ROOT / "events").glob("*.json")}
    assert files == {name for name, _ in STEP_EVENTS} | set(REQUEST_BODIES)


def test_seeding_names_what_it_made_and_its_sample_rollout_is_planned(seeded: list[str], api: ApiCall) -> None:
    assert any("_source/docker-hub" in line and "_source/github" in line for line in seeded), seeded
    status, rollout = api("GET", f"/rollouts/{samples.SAMPLE_ROLLOUT_ID}")
    assert status == 200 and rollout["status"] == "PLANNED" and rollout["mode"] == "PLAN"


def succeeded(name: str, out: Any) -> bool:
    """What "works" means for each kind of sample (besides no function error)."""
    if name.startswith("api_"):
        return 200 <= out["statusCode"] < 300
    if name == "rule_requested":
        return out["accepted"] is True
    if name == "finish_rollout":
        return out["rolloutId"] == samples.SAMPLE_ROLLOUT_ID
    return isinstance(out, dict)


@pytest.mark.parametrize(("name", "function"), STEP_EVENTS, ids=[name for name, _ in STEP_EVENTS])
def test_each_sample_event_works_as_is(
    seeded: list[str], stack: EmbeddedStack, wait_rollout: Callable[..., dict[str, Any]], name: str, function: str
) -> None:
    out, errored = stack.invoke(function, load_event(name))
    assert not errored and succeeded(name, out), (name, out)
    started = json.loads(out["body"]) if name == "api_post_rules" else out if name == "rule_requested" else None
    if started is not None:  # a real rollout: it ends well too
        assert wait_rollout(started["rolloutId"])["status"] == "SUCCEEDED"


def test_the_step_samples_wrote_in_the_region_they_name(seeded: list[str], stack: EmbeddedStack) -> None:
    """store_secret.json created the pinned regional secret; create_rule.json's credentialArn resolved to it."""
    secret = stack.client("secretsmanager", "eu-west-1").describe_secret(SecretId="ecr-pullthroughcache/docker-hub")
    assert secret["ARN"] == samples.REGIONAL_SECRETS[0]


@pytest.mark.parametrize("name", REQUEST_BODIES)
def test_each_sample_request_body_rolls_out(
    seeded: list[str], api: ApiCall, wait_rollout: Callable[..., dict[str, Any]], name: str
) -> None:
    status, started = api("POST", "/rules", json.loads((ROOT / "events" / f"{name}.json").read_text()))
    assert status == 202, started
    assert wait_rollout(started["rolloutId"])["status"] == "SUCCEEDED"


def test_make_local_prints_rejections_and_the_round_trip_on_its_log(
    seeded: list[str], stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    events = stack.client("events")
    rejected = {"requestId": "bad-1", "upstreamRegistry": "quay", "regions": ["nowhere-1"]}
    accepted = {"requestId": "good-1", "upstreamRegistry": "k8s", "regions": ["us-east-1"]}
    for detail in (rejected, accepted):
        events.put_events(
            Entries=[
                {
                    "Source": "pullthrough",
                    "DetailType": "Pull Through Cache Rule Requested",
                    "Detail": json.dumps(detail),
                    "EventBusName": bus_log.app_bus(stack),
                }
            ]
        )
    printed: list[str] = []

    def finished() -> bool:
        printed.extend(capsys.readouterr().out.splitlines())
        return any("Rollout Finished" in line and "requestId=good-1" in line for line in printed)

    wait_until(finished, 120, "the Finished event of good-1 on make local's log")
    [refusal] = [line for line in printed if "Rule Rejected" in line]
    assert "requestId=bad-1" in refusal and "regions" in refusal, refusal
    [begun] = [line for line in printed if "Rollout Started" in line and "good-1" in line]
    assert "prefix=kubernetes" in begun and "rolloutId=r-" in begun
