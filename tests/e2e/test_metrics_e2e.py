"""Metrics on the embedded stack: the EMF lines (JSON on stdout, which Lambda hands to CloudWatch) that a rollout, a
rollback, a plan, an EventBridge request, a sweep finding drift and the API's client errors write; every line fits
pullthrough.metrics.CATALOG (what the template's alarms and dashboard may use) and none holds a credential value."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from local.emulator import ecr_extension
from local.stack import EmbeddedStack
from pullthrough.metrics import CATALOG, NAMESPACE
from tests.e2e.conftest import ApiCall, source_secret, wait_until
from tests.support import CANARY, emf_documents, emf_points

pytestmark = pytest.mark.e2e

WaitRollout = Callable[..., dict[str, Any]]
REGIONS = ["us-east-1", "eu-west-1"]
EMF_TIMEOUT = 60.0  # the line follows the status write by one call; a loaded machine may take a while
Points = Counter[tuple[str, tuple[tuple[str, str], ...]]]  # tests.support.emf_points


class EmfLines:
    """The EMF documents printed to stdout since the test began (the stack's functions run in this process)."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys
        self._text = ""
        self._since = 0

    def read(self) -> list[dict[str, Any]]:
        """Every document so far; ``mark()`` hides the earlier ones from ``points`` and ``wait_for``."""
        return [document for _, document in self._located()]

    def mark(self) -> None:
        self._since = len(self._text)

    def _located(self) -> list[tuple[int, dict[str, Any]]]:
        self._text += self._capsys.readouterr().out
        return emf_documents(self._text)

    def points(self, metric: str | None = None, **metadata: Any) -> Points:
        """Each metric (or only ``metric``) of the lines since the mark whose metadata match, summed."""
        documents = [
            document
            for position, document in self._located()
            if position >= self._since and all(document.get(key) == value for key, value in metadata.items())
        ]
        return Counter({key: value for key, value in emf_points(documents).items() if metric in (None, key[0])})

    def wait_for(self, metric: str, **metadata: Any) -> Points:
        """The points of the lines matching ``metadata`` once one of them holds ``metric``."""

        def probe() -> Points | None:
            points = self.points(**metadata)
            return points if any(name == metric for name, _ in points) else None

        return wait_until(probe, EMF_TIMEOUT, f"an EMF line with {metric} {metadata}")


@pytest.fixture
def emf(capsys: pytest.CaptureFixture[str]) -> Iterator[EmfLines]:
    """The test's EMF lines; after the test, every one must fit the catalog and hold no credential value."""
    lines = EmfLines(capsys)
    yield lines
    documents = lines.read()
    for document in documents:
        assert_fits_the_catalog(document)
    assert CANARY not in json.dumps(documents)


def assert_fits_the_catalog(document: dict[str, Any]) -> None:
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == NAMESPACE
    for metric in directive["Metrics"]:
        allowed = CATALOG[metric["Name"]]
        assert all(tuple(dimensions) in allowed for dimensions in directive["Dimensions"]), (metric, directive)
    assert document["service"] == "pullthrough"
    if "trigger" in document:
        assert document["trigger"] in ("api", "event", "account", "sweep")


def rule_body(prefix: str, token: str = CANARY, regions: list[str] = REGIONS) -> dict[str, Any]:
    return {
        "upstreamRegistry": "docker-hub",
        "ecrRepositoryPrefix": prefix,
        "credentials": {"username": "metrics-user", "accessToken": token},
        "regions": regions,
    }


def started_by_api(api: ApiCall, body: dict[str, Any], query: str = "") -> str:
    status, started = api("POST", f"/rules{query}", body)
    assert status == 202, started
    return str(started["rolloutId"])


def without(points: Points, metric: str) -> Points:
    return Counter({key: value for key, value in points.items() if key[0] != metric})


def test_a_successful_rollout_counts_started_and_succeeded_by_trigger_and_its_duration(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: WaitRollout, emf: EmfLines
) -> None:
    rollout_id = started_by_api(api, rule_body("metrics-ok"))
    assert wait_rollout(rollout_id)["status"] == "SUCCEEDED"

    points = emf.wait_for("RolloutsSucceeded", rolloutId=rollout_id)

    api_trigger = (("trigger", "api"),)
    assert without(points, "RolloutDuration") == {
        ("RolloutsStarted", api_trigger): 1,
        ("RolloutsSucceeded", api_trigger): 1,
    }
    assert 0 <= points[("RolloutDuration", api_trigger)] < 120
    assert {doc["prefix"] for doc in emf.read() if doc.get("rolloutId") == rollout_id} == {"metrics-ok"}


def test_a_rolled_back_rollout_counts_the_region_failure_by_step_and_error_and_the_upstreams_validation_failure(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: WaitRollout, emf: EmfLines
) -> None:
    prefix = "metrics-rollback"
    ecr_extension.fail_validation(prefix, "Authentication failed: token expired", region="eu-west-1")

    rollout_id = started_by_api(api, rule_body(prefix))
    assert wait_rollout(rollout_id)["status"] == "ROLLED_BACK"

    points = emf.wait_for("RolloutsRolledBack", rolloutId=rollout_id)
    assert without(points, "RolloutDuration") == {
        ("RolloutsStarted", (("trigger", "api"),)): 1,
        ("RolloutsRolledBack", (("trigger", "api"),)): 1,
        ("RegionFailures", (("step", "ValidateRule"), ("error", "RuleValidationFailed"))): 1,
        ("ValidationFailures", (("upstream", "docker-hub"),)): 1,
    }
    # Names only: ECR's failure text (which could quote anything) never becomes a metric or its metadata
    assert "Authentication failed" not in json.dumps(emf.read())


def test_a_plan_counts_started_and_planned_but_no_duration(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: WaitRollout, emf: EmfLines
) -> None:
    rollout_id = started_by_api(api, rule_body("metrics-plan"), "?dryRun=true")
    assert wait_rollout(rollout_id)["status"] == "PLANNED"

    points = emf.wait_for("RolloutsPlanned", rolloutId=rollout_id)
    assert points == {("RolloutsStarted", (("trigger", "api"),)): 1, ("RolloutsPlanned", (("trigger", "api"),)): 1}


def test_a_rollout_requested_on_eventbridge_counts_as_triggered_by_an_event(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: WaitRollout, emf: EmfLines
) -> None:
    arn = source_secret(stack, "metrics-event", {"username": "octocat", "accessToken": CANARY})
    detail = {"upstreamRegistry": "github-container-registry", "ecrRepositoryPrefix": "metrics-event"}
    stack.client("events").put_events(
        Entries=[
            {
                "EventBusName": stack.event_bus_name,  # the app's own bus
                "Source": "pullthrough",
                "DetailType": "Pull Through Cache Rule Requested",
                "Detail": json.dumps(detail | {"credentialSecretArn": arn, "regions": REGIONS}),
            }
        ]
    )

    def started() -> str | None:
        return next((d["rolloutId"] for d in emf.read() if d.get("prefix") == "metrics-event"), None)

    rollout_id = wait_until(started, EMF_TIMEOUT, "the rollout the event started")
    assert wait_rollout(rollout_id)["status"] == "SUCCEEDED"

    points = emf.wait_for("RolloutsSucceeded", rolloutId=rollout_id)
    event_trigger = (("trigger", "event"),)
    assert without(points, "RolloutDuration") == {
        ("RolloutsStarted", event_trigger): 1,
        ("RolloutsSucceeded", event_trigger): 1,
    }


def test_a_sweep_counts_drift_by_resource_and_kind_and_its_repair_as_triggered_by_the_sweep(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: WaitRollout, emf: EmfLines
) -> None:
    prefix = "metrics-drift"
    assert wait_rollout(started_by_api(api, rule_body(prefix)))["status"] == "SUCCEEDED"
    clean, errored = stack.invoke("DriftSweepFunction", {"mode": "report", "prefixes": [prefix]})
    assert not errored and clean["drifted"] == [], clean
    emf.wait_for("DriftFindings")
    assert emf.points("DriftFindings") == {("DriftFindings", ()): 0}  # a clean sweep says so
    emf.mark()

    # When: the rule is deleted by hand in one region and the sweep runs
    stack.client("ecr", "eu-west-1").delete_pull_through_cache_rule(ecrRepositoryPrefix=prefix)
    report, errored = stack.invoke("DriftSweepFunction", {"mode": "report", "prefixes": [prefix]})
    assert not errored and report["drifted"] == [prefix], report

    # Then: one finding, by resource and kind
    emf.wait_for("DriftFindings")
    assert emf.points("DriftFindings") == {("DriftFindings", (("resource", "rule"), ("kind", "missing"))): 1}
    emf.mark()

    # When: the sweep repairs it, Then: its rollout counts as started (and succeeded) by the sweep
    repaired, errored = stack.invoke("DriftSweepFunction", {"mode": "repair", "prefixes": [prefix]})
    assert not errored, repaired
    (repair,) = repaired["repairsStarted"]
    assert wait_rollout(repair["rolloutId"])["status"] == "SUCCEEDED"
    points = emf.wait_for("RolloutsSucceeded", rolloutId=repair["rolloutId"])
    sweep_trigger = (("trigger", "sweep"),)
    assert without(points, "RolloutDuration") == {
        ("RolloutsStarted", sweep_trigger): 1,
        ("RolloutsSucceeded", sweep_trigger): 1,
    }


def test_the_apis_client_errors_count_by_route(stack: EmbeddedStack, api: ApiCall, emf: EmfLines) -> None:
    bad = rule_body("metrics-api") | {"regions": []}
    assert api("POST", "/rules", bad)[0] == 422
    assert api("GET", "/rollouts/r-00000000000000000000000000000000")[0] == 404
    assert api("GET", "/rules")[0] == 200

    emf.wait_for("ApiClientErrors", route="GET /rollouts/{rolloutId}")
    assert emf.points("ApiClientErrors") == {
        ("ApiClientErrors", (("route", "POST /rules"),)): 1,
        ("ApiClientErrors", (("route", "GET /rollouts/{rolloutId}"),)): 1,
    }
