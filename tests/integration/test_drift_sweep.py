"""The drift sweep on moto: what it finds, where it records it, what it repairs, and how few calls it makes."""

from __future__ import annotations

import json
import threading
from collections import Counter
from typing import Any

import boto3
import pytest

from pullthrough import exceptions as ex
from pullthrough.adapters.ecr import EcrRegistry
from pullthrough.adapters.secret_listing import SecretListing
from pullthrough.adapters.store import RolloutStore
from pullthrough.drift.desired import EVERYTHING
from pullthrough.drift.inventory import read_inventory
from pullthrough.rollouts.deps import now_iso
from tests.integration.app_support import AppEnv, api, provision
from tests.integration.steps_support import run_all
from tests.support import CANARY, HOME, CallLog, FakeContext, all_at_once, load_event, load_handler

SWEEP = load_handler("drift_sweep")
FINISH = load_handler("finish_rollout")
REGIONS = ["eu-west-1", "ap-southeast-2"]
DRIFT_DETECTED = "Pull Through Cache Drift Detected"
PUBLIC_ECR = {"upstreamRegistry": "ecr-public", "upstreamRegistryUrl": "public.ecr.aws"}  # no secret


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
    """POST the rule, run the rollout's four steps in every region, finish it (frees the prefix), and record what it
    deployed (see ``record_deployed``)."""
    status, started = api("POST", "/rules", body)
    assert status == 202, started
    execution = app.execution_input(started["rolloutId"])
    finish(execution)
    return execution


def finish(execution: dict[str, Any]) -> None:
    """Run the steps of a started rollout in each of its regions, then FinishRollout, then record its deployment."""
    for region in execution["regions"]:
        run_all({**execution, "region": region})
    results = [{"region": r, "status": "SUCCEEDED", "step": "ApplyTemplate"} for r in execution["regions"]]
    prefix = execution["rule"]["ecrRepositoryPrefix"]
    FINISH.handler({"rolloutId": execution["rolloutId"], "prefix": prefix, "regionResults": results}, FakeContext())
    record_deployed(prefix, execution["regions"], execution["sourceSecretArn"], execution["rolloutId"])


def current_version(region: str, secret_id: str) -> tuple[str, str]:
    """A secret's ARN and AWSCURRENT version id, as DescribeSecret shows them."""
    found = boto3.client("secretsmanager", region_name=region).describe_secret(SecretId=secret_id)
    [version] = [v for v, stages in found["VersionIdsToStages"].items() if "AWSCURRENT" in stages]
    return found["ARN"], version


def record_deployed(prefix: str, regions: list[str], source_arn: str | None, rollout_id: str) -> None:
    """Write ``deployed`` and ``sourceSecretVersionId`` on the desired rule as FinishRollout records them after a
    successful rollout: per region the regional secret's ARN and AWSCURRENT version (None without a secret)."""
    deployed = {}
    for region in regions:
        arn = version = None
        if source_arn is not None:
            arn, version = current_version(region, f"ecr-pullthroughcache/{prefix}")
        deployed[region] = {"secretArn": arn, "secretVersionId": version, "rolloutId": rollout_id}
    source_version = current_version(HOME, source_arn)[1] if source_arn else None
    store().update_rule(prefix, deployed=deployed, sourceSecretVersionId=source_version)


def store() -> RolloutStore:
    return RolloutStore(boto3.client("dynamodb", region_name=HOME), "pullthrough-test")


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


def test_a_report_that_says_nothing_new_is_not_written_again(app: AppEnv, call_log: CallLog) -> None:
    rolled_out(app, docker_hub())
    sweep()
    call_log.clear()
    assert sweep()["prefixes"][0]["inSync"] is True
    assert call_log.writes() == []  # the same report: the sweep's time stays flat in the number of rules
    boto3.client("ecr", region_name="ap-southeast-2").delete_pull_through_cache_rule(ecrRepositoryPrefix="docker-hub")
    changed = sweep()["prefixes"][0]
    _, rule = api("GET", "/rules/docker-hub")
    assert rule["drift"]["drift"] == changed["drift"] != [] and rule["driftCheckedAt"] == changed["checkedAt"]


def test_a_rule_deleted_by_hand_in_one_region_is_reported_recorded_and_announced(app: AppEnv) -> None:
    rolled_out(app, docker_hub())
    boto3.client("ecr", region_name="ap-southeast-2").delete_pull_through_cache_rule(ecrRepositoryPrefix="docker-hub")
    summary = sweep()
    expected = [
        {
            "region": "ap-southeast-2",
            "resource": "rule",
            "kind": "missing",
            "fields": [],
            "message": "ap-southeast-2: rule missing",
        }
    ]
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


def _change_secret_value(region: str) -> None:
    boto3.client("secretsmanager", region_name=region).put_secret_value(
        SecretId="ecr-pullthroughcache/docker-hub", SecretString=json.dumps({"username": "u", "accessToken": "mine"})
    )


def _change_secret_value_and_back(region: str) -> None:
    sm = boto3.client("secretsmanager", region_name=region)
    before = sm.get_secret_value(SecretId="ecr-pullthroughcache/docker-hub")["SecretString"]
    _change_secret_value(region)
    sm.put_secret_value(SecretId="ecr-pullthroughcache/docker-hub", SecretString=before)


def _put_the_same_value_again(region: str) -> None:
    sm = boto3.client("secretsmanager", region_name=region)
    current = sm.get_secret_value(SecretId="ecr-pullthroughcache/docker-hub")["SecretString"]
    sm.put_secret_value(SecretId="ecr-pullthroughcache/docker-hub", SecretString=current)


def _schedule_secret_deletion(region: str) -> None:
    boto3.client("secretsmanager", region_name=region).delete_secret(SecretId="ecr-pullthroughcache/docker-hub")


SECRET_IN_EU = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ecr-pullthroughcache/"


@pytest.mark.parametrize(
    ("change", "resource", "kind", "fields", "message"),
    [
        (
            _change_template,
            "template",
            "differs",
            ["imageTagMutability"],
            "eu-west-1: template differs: imageTagMutability IMMUTABLE, want MUTABLE",
        ),
        (_delete_template, "template", "missing", [], "eu-west-1: template missing"),
        (_delete_secret, "secret", "missing", [], "eu-west-1: secret missing"),
        (_schedule_secret_deletion, "secret", "missing", [], "eu-west-1: secret missing"),
        (
            _point_at_another_secret,
            "rule",
            "differs",
            ["credentialArn"],
            f"eu-west-1: rule differs: credentialArn {SECRET_IN_EU}someone-else-",
        ),
        (
            _change_upstream_prefix,
            "rule",
            "differs",
            ["upstreamRepositoryPrefix"],
            "eu-west-1: rule differs: upstreamRepositoryPrefix library, want ROOT",
        ),
        (
            _change_secret_value,
            "secret",
            "changed",
            ["versionId"],
            "eu-west-1: secret value changed outside pullthrough",
        ),
        # Versions, not values, are compared: a value put back by hand is a new version all the same.
        (
            _change_secret_value_and_back,
            "secret",
            "changed",
            ["versionId"],
            "eu-west-1: secret value changed outside pullthrough",
        ),
        (
            _put_the_same_value_again,
            "secret",
            "changed",
            ["versionId"],
            "eu-west-1: secret value changed outside pullthrough",
        ),
    ],
)
def test_each_kind_of_drift_is_reported_as_such_in_plain_words(
    app: AppEnv, change: Any, resource: str, kind: str, fields: list[str], message: str
) -> None:
    rolled_out(app, docker_hub())
    change("eu-west-1")
    [report] = sweep()["prefixes"]
    [finding] = report["drift"]
    assert {k: finding[k] for k in ("region", "resource", "kind", "fields")} == {
        "region": "eu-west-1",
        "resource": resource,
        "kind": kind,
        "fields": fields,
    }
    assert finding["message"].startswith(message), finding["message"]


def test_a_secret_changed_by_hand_is_found_by_its_version_without_reading_any_value(
    app: AppEnv, call_log: CallLog
) -> None:
    rolled_out(app, docker_hub())
    _change_secret_value("ap-southeast-2")
    call_log.clear()
    summary = sweep()
    assert [e["message"] for e in summary["prefixes"][0]["drift"]] == [
        "ap-southeast-2: secret value changed outside pullthrough"
    ]
    assert "GetSecretValue" not in call_log.by_operation() and "DescribeSecret" not in call_log.by_operation()
    [event] = drift_events(app)
    assert event["detail"]["drift"][0]["message"] == "ap-southeast-2: secret value changed outside pullthrough"
    assert CANARY not in json.dumps(summary) + json.dumps(event)


def test_a_secret_deleted_and_created_again_by_hand_is_reported_with_the_rule_pointing_at_the_old_one(
    app: AppEnv,
) -> None:
    rolled_out(app, docker_hub())
    _delete_secret("eu-west-1")
    boto3.client("secretsmanager", region_name="eu-west-1").create_secret(
        Name="ecr-pullthroughcache/docker-hub", SecretString=json.dumps({"username": "u", "accessToken": "t"})
    )
    [report] = sweep()["prefixes"]
    assert [(e["resource"], e["kind"]) for e in report["drift"]] == [("rule", "differs"), ("secret", "replaced")]
    assert report["drift"][1]["message"] == "eu-west-1: secret deleted and created again outside pullthrough"


def test_a_source_secret_changed_since_the_last_rollout_is_reported_once_for_the_rule(app: AppEnv) -> None:
    execution = rolled_out(app, docker_hub())
    boto3.client("secretsmanager", region_name=HOME).put_secret_value(
        SecretId=execution["sourceSecretArn"], SecretString=json.dumps({"username": "octocat", "accessToken": "new"})
    )
    [report] = sweep()["prefixes"]
    assert report["drift"] == [
        {
            "region": HOME,
            "resource": "sourceSecret",
            "kind": "changed",
            "fields": ["versionId"],
            "message": "source secret changed since the last rollout",
        }
    ]


def test_a_region_that_holds_the_prefix_but_is_not_desired_is_drift_and_is_read_like_any_other(
    app: AppEnv, call_log: CallLog
) -> None:
    rolled_out(app, docker_hub())
    # The desired regions shrank to eu-west-1; the last rollout left the prefix in both (recorded in ``deployed``).
    store().update_rule("docker-hub", regions=["eu-west-1"])
    # A region in neither list is not pullthrough's to read, whatever it holds.
    boto3.client("ecr", region_name="us-west-2").create_pull_through_cache_rule(
        ecrRepositoryPrefix="docker-hub", upstreamRegistryUrl="quay.io", upstreamRegistry="quay"
    )
    call_log.clear()
    summary = sweep()
    assert [e["message"] for e in summary["prefixes"][0]["drift"]] == [
        "ap-southeast-2: holds the prefix but is not a desired region (rule, template, secret)"
    ]
    assert summary["checkedRegions"] == sorted([HOME, *REGIONS])
    per_region = Counter(region for service, region, _ in call_log.calls if service in ("ecr", "secretsmanager"))
    assert per_region["ap-southeast-2"] == 3 and "us-west-2" not in per_region
    # Once nothing is left there, the region is no drift, even while ``deployed`` still names it.
    boto3.client("ecr", region_name="ap-southeast-2").delete_pull_through_cache_rule(ecrRepositoryPrefix="docker-hub")
    _delete_template("ap-southeast-2")
    _delete_secret("ap-southeast-2")
    assert sweep()["drifted"] == []


def test_a_rule_recorded_before_deployments_were_kept_is_checked_without_secret_versions(
    app: AppEnv, call_log: CallLog
) -> None:
    rolled_out(app, docker_hub())
    item = store().get_rule("docker-hub")
    assert item is not None
    store().put_rule(
        "docker-hub",
        {k: v for k, v in item.items() if k not in ("pk", "sk", "deployed", "sourceSecretVersionId")},
    )
    _change_secret_value("eu-west-1")
    call_log.clear()
    summary = sweep()
    assert summary["drifted"] == []  # no recorded version: a changed value cannot be told from a rollout's copy
    assert summary["checkedRegions"] == sorted(
        REGIONS
    )  # nor is the source secret's region read: nothing to compare with
    _delete_secret("eu-west-1")
    assert [e["message"] for e in sweep()["prefixes"][0]["drift"]] == ["eu-west-1: secret missing"]


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
    finish(started)
    again = sweep()
    assert again["drifted"] == [] and again["repairsStarted"] == []


def test_repair_mode_puts_the_source_value_back_into_a_secret_changed_by_hand(app: AppEnv) -> None:
    first = rolled_out(app, docker_hub())
    _change_secret_value("eu-west-1")
    [repair] = sweep({"mode": "repair"})["repairsStarted"]
    started = app.execution_input(repair["rolloutId"])
    assert started["regions"] == REGIONS and started["sourceSecretArn"] == first["sourceSecretArn"]
    # The repair is a normal rollout: StoreSecret compares values and writes only where they differ.
    actions = {region: run_all({**started, "region": region})["storeSecret"]["action"] for region in REGIONS}
    assert actions == {"eu-west-1": "updated", "ap-southeast-2": "unchanged"}
    value = boto3.client("secretsmanager", region_name="eu-west-1").get_secret_value(
        SecretId="ecr-pullthroughcache/docker-hub"
    )["SecretString"]
    assert json.loads(value) == {"username": "octocat", "accessToken": CANARY}
    finish(started)
    assert sweep()["drifted"] == []


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
    assert api("GET", "/rules/docker-hub")[1]["drift"] is None  # no report recorded


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
            "afterRollback": True,
            "rollbackResults": [{"region": "eu-west-1", "status": "ROLLED_BACK"}],
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


def test_reads_per_region_do_not_grow_with_the_number_of_rules(app: AppEnv, call_log: CallLog) -> None:
    """The reads do not grow with the rules; ECR's validation (health) is one call per rule and target: ECR validates
    one prefix per call."""
    per_region: dict[int, dict[str, Counter[str]]] = {}
    made = recorded = 0
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
        # One listing and one record per rule whose report is new (the rules checked before are still in sync); the
        # lock is read only when a rollout may still run (here each rollout finished within the second it started).
        assert home["Query"] == 1 and home["UpdateItem"] == size - recorded and home["GetItem"] <= size
        recorded = size
    three = Counter({"DescribePullThroughCacheRules": 1, "DescribeRepositoryCreationTemplates": 1, "ListSecrets": 1})
    expected = {region: three for region in REGIONS} | {HOME: Counter({"ListSecrets": 1})}  # home: source secrets
    validation = "ValidatePullThroughCacheRule"
    validations = {size: {r: c.pop(validation, 0) for r, c in calls.items()} for size, calls in per_region.items()}
    assert per_region[1] == per_region[10] == per_region[50] == expected
    assert max(c.total() for c in per_region[50].values()) <= 3
    assert all(validations[size] == {**dict.fromkeys(REGIONS, size), HOME: 0} for size in validations), validations


def test_every_new_report_is_written_at_once_not_ten_at_a_time(app: AppEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    """One write's latency for the sweep's bookkeeping, whatever the number of rules (10 at a time, 50 rules cost
    five writes' latency one after another)."""
    # Never rolled out: each region reports the rule missing, and each report is new.
    rules = 12  # more than botocore's default connection pool (10) and the sweep's former 10 writers
    for index in range(rules):
        store().put_rule(
            f"hub-{index:02d}",
            {"rule": {"ecrRepositoryPrefix": f"hub-{index:02d}", **PUBLIC_ECR}, "regions": REGIONS},
        )
    in_flight = most = 0
    all_in = threading.Condition()
    record = RolloutStore.update_rule

    def counted(self: RolloutStore, prefix: str, **fields: Any) -> None:
        nonlocal in_flight, most
        with all_in:
            in_flight += 1
            most = max(most, in_flight)
            all_in.notify_all()
            all_in.wait_for(lambda: in_flight == rules, timeout=2)  # the writes that are not sent now never come
        try:
            record(self, prefix, **fields)
        finally:
            with all_in:
                in_flight -= 1

    monkeypatch.setattr(RolloutStore, "update_rule", counted)
    summary = sweep()
    assert len(summary["prefixes"]) == rules and "errors" not in summary
    assert most == rules
    assert all(item.get("drift") for item in store().list_rules())


def test_a_regions_rules_templates_and_secrets_are_read_at_once(app: AppEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    """One round trip to each region, not three one after another (from the home region to Sydney, ~200 ms each)."""
    rolled_out(app, docker_hub())
    all_at_once(
        monkeypatch, [(EcrRegistry, "list_rules"), (EcrRegistry, "list_templates"), (SecretListing, "list_secrets")]
    )
    inventory = read_inventory("eu-west-1", EVERYTHING)
    assert inventory.error is None
    assert inventory.rules is not None and set(inventory.rules) == {"docker-hub"}
    assert inventory.templates is not None and set(inventory.templates) == {"docker-hub"}
    assert inventory.secrets is not None and set(inventory.secrets) == {"ecr-pullthroughcache/docker-hub"}


def test_where_other_accounts_hold_each_rule_is_read_for_all_rules_at_once(
    app: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sweep (and GET /rules) list every rule: the items of the accounts each holds are one Query per rule,
    sent together (one after another, 50 rules held elsewhere cost 50 round trips)."""
    accounts: dict[str, dict[str, dict[str, Any]]] = {
        "111122223333": {"eu-west-1": {"secretArn": None}},
        "444455556666": {"eu-west-1": {}},
    }
    held = ["hub-00", "hub-01", "hub-02"]
    for prefix in [*held, "home-only"]:
        store().put_rule(prefix, {"rule": {"ecrRepositoryPrefix": prefix, **PUBLIC_ECR}, "regions": REGIONS})
    for prefix in held:
        store().save_deployed(prefix, {}, accounts, {})
    all_three = threading.Barrier(len(held), timeout=2)  # broken (an error) unless the reads are in flight together
    query = RolloutStore._query

    def together(self: RolloutStore, pk: str, sk_prefix: str | None = None) -> list[dict[str, Any]]:
        if pk.startswith("DEPLOYED#"):
            all_three.wait()
        return query(self, pk, sk_prefix)

    monkeypatch.setattr(RolloutStore, "_query", together)
    rules = {rule["sk"]: rule for rule in store().list_rules()}
    assert sorted(rules) == sorted([*held, "home-only"])
    assert all(rules[prefix]["deployedElsewhere"] == accounts for prefix in held)
    assert "deployedElsewhere" not in rules["home-only"]


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


def test_the_listing_shows_each_secrets_awscurrent_version_after_puts_and_stage_moves(moto_aws: None) -> None:
    sm = boto3.client("secretsmanager", region_name="eu-west-1")
    first = sm.create_secret(Name="ecr-pullthroughcache/x", SecretString="{}")
    second = sm.put_secret_value(SecretId=first["ARN"], SecretString='{"a": 1}')
    sm.create_secret(Name="not-ours", SecretString="{}")
    listing = SecretListing(sm)
    [listed] = listing.list_secrets("ecr-pullthroughcache/").values()
    assert (listed.name, listed.arn, listed.current_version) == (
        "ecr-pullthroughcache/x",
        first["ARN"],
        second["VersionId"],
    )
    # Rollback moves AWSCURRENT back to a prior version: the listing follows.
    sm.update_secret_version_stage(
        SecretId=first["ARN"],
        VersionStage="AWSCURRENT",
        MoveToVersionId=first["VersionId"],
        RemoveFromVersionId=second["VersionId"],
    )
    assert listing.list_secrets("ecr-pullthroughcache/")["ecr-pullthroughcache/x"].current_version == first["VersionId"]
