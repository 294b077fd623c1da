"""The drift sweep on moto: what it finds, where it records it, what it repairs, and how few calls it makes."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import boto3
import pytest

from pullthrough import exceptions as ex
from pullthrough.adapters.store import RolloutStore
from pullthrough.rollouts import now_iso
from tests.integration.app_support import AppEnv, api, provision
from tests.integration.steps_support import run_all
from tests.support import CANARY, HOME, CallLog, FakeContext, load_event, load_handler

SWEEP = load_handler("drift_sweep")
FINISH = load_handler("finish_rollout")
REGIONS = ["eu-west-1", "ap-southeast-2"]
DRIFT_DETECTED = "Pull Through Cache Drift Detected"


@pytest.fixture
def app(moto_aws: None, monkeypatch: pytest.MonkeyPatch) -> AppEnv:
    monkeypatch.delenv("DRIFT_MODE", raising=False)
    return provision(monkeypatch)


def docker_hub(prefix: str = "docker-hub", **fields: Any) -> dict[str, Any]:
    return {
        "upstreamRegistry": "docker-hub",
        "ecrRepositoryPrefix": prefix,
        "credentials": {"username": "octocat", "accessToken": CANARY},
        "regions": REGIONS,
        **fields,
    }


def rolled_out(app: AppEnv, body: dict[str, Any]) -> dict[str, Any]:
    """POST the rule, run the rollout's four steps in every region, and finish it (frees the prefix)."""
    status, started = api("POST", "/rules", body)
    assert status == 202, started
    execution = app.execution_input(started["rolloutId"])
    for region in execution["regions"]:
        run_all({**execution, "region": region})
    results = [{"region": r, "status": "SUCCEEDED", "step": "ApplyTemplate"} for r in execution["regions"]]
    FINISH.handler(
        {"rolloutId": started["rolloutId"], "prefix": started["prefix"], "regionResults": results}, FakeContext()
    )
    return execution


def sweep(event: Any = None) -> dict[str, Any]:
    summary: dict[str, Any] = SWEEP.handler(event if event is not None else load_event("drift_sweep"), FakeContext())
    json.dumps(summary)  # Lambda returns JSON
    return summary


def drift_events(app: AppEnv) -> list[dict[str, Any]]:
    return [e for e in app.emitted() if e["detail-type"] == DRIFT_DETECTED]


def test_an_in_sync_rule_reports_no_drift_and_the_check_is_recorded(app: AppEnv, call_log: CallLog) -> None:
    rolled_out(app, docker_hub())
    call_log.clear()
    summary = sweep()
    [report] = summary["prefixes"]
    assert report["inSync"] is True and report["drift"] == []
    assert summary["drifted"] == [] and summary["repairsStarted"] == [] and summary["mode"] == "report"
    assert summary["checkedRegions"] == sorted([HOME, *REGIONS])  # home: the source secret's region
    assert drift_events(app) == []
    # Reads only, never a secret value; the one write is the record on the desired rule.
    assert "GetSecretValue" not in call_log.by_operation()
    assert call_log.writes() == [("dynamodb", HOME, "UpdateItem")]
    _, rule = api("GET", "/rules/docker-hub")
    assert rule["drift"]["inSync"] is True and rule["driftCheckedAt"] == report["checkedAt"]


def test_a_rule_deleted_by_hand_in_one_region_is_reported_recorded_and_announced(app: AppEnv) -> None:
    rolled_out(app, docker_hub())
    boto3.client("ecr", region_name="ap-southeast-2").delete_pull_through_cache_rule(ecrRepositoryPrefix="docker-hub")
    summary = sweep()
    expected = [{"region": "ap-southeast-2", "resource": "rule", "kind": "missing", "fields": []}]
    assert summary["drifted"] == ["docker-hub"] and summary["prefixes"][0]["drift"] == expected
    status, rule = api("GET", "/rules/docker-hub")
    assert status == 200 and rule["drift"]["inSync"] is False and rule["drift"]["drift"] == expected
    [event] = drift_events(app)
    assert event["source"] == "pullthrough" and event["detail"]["prefix"] == "docker-hub"
    assert event["detail"]["drift"] == expected
    assert CANARY not in json.dumps(event) + json.dumps(summary) + json.dumps(rule)
    assert len(app.executions()) == 1  # report mode starts nothing


def _change_template(region: str) -> None:
    boto3.client("ecr", region_name=region).update_repository_creation_template(
        prefix="docker-hub", imageTagMutability="IMMUTABLE", appliedFor=["PULL_THROUGH_CACHE"]
    )


def _delete_template(region: str) -> None:
    boto3.client("ecr", region_name=region).delete_repository_creation_template(prefix="docker-hub")


def _delete_secret(region: str) -> None:
    boto3.client("secretsmanager", region_name=region).delete_secret(
        SecretId="ecr-pullthroughcache/docker-hub", ForceDeleteWithoutRecovery=True
    )


def _point_at_another_secret(region: str) -> None:
    other = boto3.client("secretsmanager", region_name=region).create_secret(
        Name="ecr-pullthroughcache/someone-else", SecretString=json.dumps({"username": "u", "accessToken": "t"})
    )
    boto3.client("ecr", region_name=region).update_pull_through_cache_rule(
        ecrRepositoryPrefix="docker-hub", credentialArn=other["ARN"]
    )


def _change_upstream_prefix(region: str) -> None:
    ecr = boto3.client("ecr", region_name=region)
    [rule] = ecr.describe_pull_through_cache_rules(ecrRepositoryPrefixes=["docker-hub"])["pullThroughCacheRules"]
    ecr.delete_pull_through_cache_rule(ecrRepositoryPrefix="docker-hub")
    ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix="docker-hub",
        upstreamRegistryUrl=rule["upstreamRegistryUrl"],
        upstreamRegistry="docker-hub",
        credentialArn=rule["credentialArn"],
        upstreamRepositoryPrefix="library",
    )


@pytest.mark.parametrize(
    ("change", "resource", "kind", "fields"),
    [
        (_change_template, "template", "differs", ["imageTagMutability"]),
        (_delete_template, "template", "missing", []),
        (_delete_secret, "secret", "missing", []),
        (_point_at_another_secret, "rule", "differs", ["credentialArn"]),
        (_change_upstream_prefix, "rule", "differs", ["upstreamRepositoryPrefix"]),
    ],
)
def test_each_kind_of_drift_is_reported_as_such(
    app: AppEnv, change: Any, resource: str, kind: str, fields: list[str]
) -> None:
    rolled_out(app, docker_hub())
    change("eu-west-1")
    [report] = sweep()["prefixes"]
    assert report["drift"] == [{"region": "eu-west-1", "resource": resource, "kind": kind, "fields": fields}]


def test_repair_mode_starts_one_rollout_of_the_desired_rule_to_all_its_regions(
    app: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = rolled_out(app, docker_hub())
    boto3.client("ecr", region_name="eu-west-1").delete_pull_through_cache_rule(ecrRepositoryPrefix="docker-hub")
    monkeypatch.setenv("DRIFT_MODE", "repair")
    summary = sweep()
    [repair] = summary["repairsStarted"]
    assert repair["prefix"] == "docker-hub" and len(app.executions()) == 2
    started = app.execution_input(repair["rolloutId"])
    assert started["rule"] == first["rule"] and started["regions"] == REGIONS
    assert started["sourceSecretArn"] == first["sourceSecretArn"]
    assert started["creationTemplate"] == first["creationTemplate"]
    assert CANARY not in json.dumps(started)
    _, rule = api("GET", "/rules/docker-hub")
    assert rule["lastRolloutId"] == repair["rolloutId"]
    assert rule["drift"]["repair"] == {"status": "STARTED", "rolloutId": repair["rolloutId"]}
    # The repair rollout puts the rule back; the next sweep finds the rule in sync.
    for region in started["regions"]:
        run_all({**started, "region": region})
    results = [{"region": r, "status": "SUCCEEDED"} for r in REGIONS]
    FINISH.handler({"rolloutId": repair["rolloutId"], "prefix": "docker-hub", "regionResults": results}, FakeContext())
    again = sweep()
    assert again["drifted"] == [] and again["repairsStarted"] == []


def test_repair_keeps_a_skipped_template_skipped(app: AppEnv) -> None:
    rolled_out(app, {"upstreamRegistry": "quay", "regions": REGIONS, "creationTemplate": None})
    boto3.client("ecr", region_name="eu-west-1").delete_pull_through_cache_rule(ecrRepositoryPrefix="quay")
    [repair] = sweep({"mode": "repair"})["repairsStarted"]
    started = app.execution_input(repair["rolloutId"])
    assert started["creationTemplate"] is None and started["sourceSecretArn"] is None


def test_a_prefix_with_a_rollout_in_progress_is_skipped_not_reported(app: AppEnv) -> None:
    rolled_out(app, docker_hub())
    boto3.client("ecr", region_name="eu-west-1").delete_pull_through_cache_rule(ecrRepositoryPrefix="docker-hub")
    _, running = api("POST", "/rules", docker_hub())  # holds the prefix; its execution stays RUNNING
    summary = sweep({"mode": "repair"})
    assert summary["prefixes"] == [] and summary["repairsStarted"] == []
    assert summary["skipped"] == [
        {"prefix": "docker-hub", "reason": "a rollout is in progress", "rolloutId": running["rolloutId"]}
    ]
    assert len(app.executions()) == 2 and drift_events(app) == []
    assert "drift" not in api("GET", "/rules/docker-hub")[1]


def test_a_rule_being_deleted_is_skipped_not_repaired(app: AppEnv) -> None:
    rolled_out(app, docker_hub())
    boto3.client("ecr", region_name="eu-west-1").delete_pull_through_cache_rule(ecrRepositoryPrefix="docker-hub")
    status, deleting = api("DELETE", "/rules/docker-hub")
    assert status == 202
    summary = sweep({"mode": "repair"})
    assert summary["skipped"] == [
        {"prefix": "docker-hub", "reason": "a rollout is in progress", "rolloutId": deleting["rolloutId"]}
    ]
    assert summary["repairsStarted"] == [] and len(app.executions()) == 2


def test_a_repair_that_did_not_fix_the_drift_is_started_again_by_the_next_sweep(app: AppEnv) -> None:
    # The same desired rule gives the same request body: the API's body idempotency must not swallow repairs.
    rolled_out(app, {"upstreamRegistry": "quay", "regions": REGIONS})
    boto3.client("ecr", region_name="eu-west-1").delete_pull_through_cache_rule(ecrRepositoryPrefix="quay")
    [first] = sweep({"mode": "repair"})["repairsStarted"]
    FINISH.handler(
        {
            "rolloutId": first["rolloutId"],
            "prefix": "quay",
            "regionResults": [{"region": "eu-west-1", "status": "FAILED"}],
        },
        FakeContext(),
    )
    [second] = sweep({"mode": "repair"})["repairsStarted"]
    assert second["rolloutId"] != first["rolloutId"] and len(app.executions()) == 3


def test_a_busy_prefix_is_skipped_in_repair_mode_and_the_report_says_so(app: AppEnv) -> None:
    rolled_out(app, docker_hub())
    boto3.client("ecr", region_name="eu-west-1").delete_pull_through_cache_rule(ecrRepositoryPrefix="docker-hub")
    # Another rollout took the lock after the desired rule was last written (a race with the sweep).
    store = RolloutStore(boto3.client("dynamodb", region_name=HOME), app.table)
    store.acquire_lock("docker-hub", "r-other")
    store.put_rollout({"rolloutId": "r-other", "prefix": "docker-hub", "status": "RUNNING", "createdAt": now_iso()})
    summary = sweep({"mode": "repair"})
    skipped = {"status": "SKIPPED", "reason": "the prefix is busy", "rolloutId": "r-other"}
    assert summary["repairsStarted"] == [] and summary["skipped"] == [{"prefix": "docker-hub", **skipped}]
    assert summary["drifted"] == ["docker-hub"] and len(app.executions()) == 1
    _, rule = api("GET", "/rules/docker-hub")
    assert rule["drift"]["repair"] == skipped
    assert drift_events(app)[0]["detail"]["repair"] == skipped


def test_calls_per_region_do_not_grow_with_the_number_of_rules(app: AppEnv, call_log: CallLog) -> None:
    per_region: dict[int, dict[str, Counter[str]]] = {}
    made = 0
    for size in (1, 10, 50):
        while made < size:
            rolled_out(app, docker_hub(f"hub-{made:02d}"))
            made += 1
        call_log.clear()
        summary = sweep()
        assert len(summary["prefixes"]) == size and summary["drifted"] == []
        counts: dict[str, Counter[str]] = {}
        for service, region, operation in call_log.calls:
            if service in ("ecr", "secretsmanager"):
                counts.setdefault(region, Counter())[operation] += 1
        per_region[size] = counts
        home = Counter(op for service, region, op in call_log.calls if region == HOME and service == "dynamodb")
        # One listing and one record per rule; the lock is read only when a rollout may still run (here each
        # rollout finished within the second it started, so every rule is asked about).
        assert home["Query"] == 1 and home["UpdateItem"] == size and home["GetItem"] <= size
    three = Counter({"DescribePullThroughCacheRules": 1, "DescribeRepositoryCreationTemplates": 1, "ListSecrets": 1})
    expected = {region: three for region in REGIONS} | {HOME: Counter({"ListSecrets": 1})}  # home: source secrets
    assert per_region[1] == per_region[10] == per_region[50] == expected
    assert max(c.total() for c in per_region[50].values()) <= 3


def test_prefixes_limit_an_on_demand_sweep(app: AppEnv) -> None:
    rolled_out(app, docker_hub())
    rolled_out(app, {"upstreamRegistry": "quay", "regions": ["eu-west-1"]})
    summary = sweep({"mode": "report", "prefixes": ["quay"]})
    assert [r["prefix"] for r in summary["prefixes"]] == ["quay"] and summary["checkedRegions"] == ["eu-west-1"]
    assert sweep(load_event("drift_sweep_on_demand"))["mode"] == "report"


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"mode": "fix"}, "mode"),
        ({"prefixes": []}, "prefixes"),
        ({"prefixes": ["Not A Prefix"]}, "prefixes.0"),
        ({"prefix": ["docker-hub"]}, "prefix"),
        ({"prefixes": ["nowhere"]}, "prefixes"),
        ("sweep", "body"),
    ],
)
def test_bad_input_is_refused_naming_the_field(app: AppEnv, event: Any, field: str) -> None:
    with pytest.raises(ex.InvalidRequest) as refused:
        SWEEP.handler(event, FakeContext())
    assert refused.value.field == field


def test_a_bad_drift_mode_is_refused_naming_it(app: AppEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIFT_MODE", "fix")
    with pytest.raises(ex.InvalidRequest) as refused:
        sweep()
    assert refused.value.field == "DRIFT_MODE"


def test_a_rule_and_template_made_by_hand_as_x_slash_are_the_rule_x(app: AppEnv) -> None:
    # Given: in one region, the rule and template put back by hand under "docker-hub/", same fields otherwise
    rolled_out(app, docker_hub())
    ecr = boto3.client("ecr", region_name="eu-west-1")
    rule = ecr.delete_pull_through_cache_rule(ecrRepositoryPrefix="docker-hub")
    template = ecr.delete_repository_creation_template(prefix="docker-hub")["repositoryCreationTemplate"]
    ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix="docker-hub/",
        upstreamRegistryUrl=rule["upstreamRegistryUrl"],
        upstreamRegistry="docker-hub",
        credentialArn=rule["credentialArn"],
    )
    ecr.create_repository_creation_template(
        prefix="docker-hub/",
        description=template["description"],
        imageTagMutability=template["imageTagMutability"],
        lifecyclePolicy=template["lifecyclePolicy"],
        appliedFor=template["appliedFor"],
    )

    # When: swept (also asked for by "docker-hub/")
    summary = sweep({"mode": "report", "prefixes": ["docker-hub/"]})

    # Then: ECR's "x/" is "x": nothing missing, nothing differs
    assert [r["prefix"] for r in summary["prefixes"]] == ["docker-hub"] and summary["drifted"] == []
