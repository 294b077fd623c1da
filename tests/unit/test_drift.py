"""Drift comparison without AWS: rules, templates, secret versions, regions, what is read, and the sweep's input."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local import bus_log
from local import sweep as local_sweep
from pullthrough import exceptions as ex
from pullthrough.adapters.secret_listing import ListedSecret, current_version
from pullthrough.creation_template import CreationTemplate
from pullthrough.drift.compare import (
    Difference,
    drift_report,
    held_resources,
    rule_differences,
    rule_findings,
    secret_findings,
    source_findings,
    template_differences,
    template_findings,
)
from pullthrough.drift.desired import Deployed, Desired
from pullthrough.drift.inventory import RegionInventory
from pullthrough.drift.request import SweepRequest, mode_from_env, parse_sweep_event
from pullthrough.drift.sweep import target_reads
from pullthrough.metrics import drift_found
from pullthrough.models import Rule
from tests.support import emf_documents, emf_points, load_event

REGION, OTHER, HOME = "eu-west-1", "ap-southeast-2", "us-east-1"
ACCOUNT, MEMBER = "123456789012", "111122223333"  # the home account, another one
NAME = "ecr-pullthroughcache/docker-hub"
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:123456789012:secret:{NAME}-AbCdEf"
SOURCE_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/_source/docker-hub-XyZ123"
DOCKER_HUB = Rule(
    ecrRepositoryPrefix="docker-hub", upstreamRegistry="docker-hub", upstreamRegistryUrl="registry-1.docker.io"
)
QUAY = Rule(ecrRepositoryPrefix="quay", upstreamRegistry="quay", upstreamRegistryUrl="quay.io")
V1, V2 = "11111111-aaaa-4aaa-8aaa-111111111111", "22222222-bbbb-4bbb-8bbb-222222222222"


def secret(version: str | None = V1, arn: str = SECRET_ARN) -> ListedSecret:
    return ListedSecret(arn.split(":")[6][:-7], arn, version)


def actual_rule(**fields: Any) -> dict[str, Any]:
    return {
        "ecrRepositoryPrefix": "docker-hub",
        "upstreamRegistry": "docker-hub",
        "upstreamRegistryUrl": "registry-1.docker.io",
        "upstreamRepositoryPrefix": "ROOT",
        "credentialArn": SECRET_ARN,
    } | fields


def desired(rule: Rule = DOCKER_HUB, **item: Any) -> Desired:
    return Desired.of(
        {
            "sk": rule.ecrRepositoryPrefix,
            "rule": rule.model_dump(exclude_none=True),
            "regions": [REGION],
            "sourceSecretArn": SOURCE_ARN,
            **item,
        },
        ACCOUNT,
    )


def at(region: str, account: str = ACCOUNT) -> tuple[str, str]:
    return (account, region)


def deployed(version: str | None = V1, arn: str | None = SECRET_ARN) -> dict[str, Any]:
    return {"secretArn": arn, "secretVersionId": version, "rolloutId": "r-1"}


# Rules
def test_a_matching_rule_has_no_differences_even_with_ecrs_spelling_of_defaults() -> None:
    assert rule_differences(DOCKER_HUB, actual_rule(), REGION, secret()) == []
    spelled = actual_rule(upstreamRegistryUrl="https://Registry-1.docker.io/", upstreamRepositoryPrefix=None)
    assert rule_differences(DOCKER_HUB, spelled, REGION, secret()) == []


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"upstreamRegistryUrl": "ghcr.io"}, ["upstreamRegistryUrl"]),
        ({"upstreamRepositoryPrefix": "library"}, ["upstreamRepositoryPrefix"]),
        ({"customRoleArn": "arn:aws:iam::123456789012:role/x"}, ["customRoleArn"]),
        ({"credentialArn": None}, ["credentialArn"]),
        ({"credentialArn": SECRET_ARN.replace(REGION, "us-west-2")}, ["credentialArn"]),
        ({"credentialArn": SECRET_ARN.replace("AbCdEf", "Stale1")}, ["credentialArn"]),
    ],
)
def test_each_differing_rule_field_is_named(changes: dict[str, Any], fields: list[str]) -> None:
    differences = rule_differences(DOCKER_HUB, actual_rule(**changes), REGION, secret())
    assert [d.field for d in differences] == fields


def test_a_differing_rule_says_what_it_holds_and_what_is_wanted() -> None:
    other = SECRET_ARN.replace("docker-hub", "someone-else")
    [finding] = rule_findings(
        REGION, DOCKER_HUB, actual_rule(upstreamRepositoryPrefix="library", credentialArn=other), secret()
    )
    assert (finding.resource, finding.kind, finding.fields) == (
        "rule",
        "differs",
        ("upstreamRepositoryPrefix", "credentialArn"),
    )
    assert finding.message == (
        f"{REGION}: rule differs: upstreamRepositoryPrefix library, want ROOT; credentialArn {other}, want {SECRET_ARN}"
    )
    assert [f.message for f in rule_findings(REGION, DOCKER_HUB, None, secret())] == [f"{REGION}: rule missing"]
    # Without the region's secret listed, the wanted credentialArn is named by the secret's name.
    assert rule_differences(DOCKER_HUB, actual_rule(credentialArn=None), REGION, None) == [
        Difference("credentialArn", None, NAME)
    ]


def test_a_partial_credential_arn_naming_the_secret_fits() -> None:
    assert rule_differences(DOCKER_HUB, actual_rule(credentialArn=SECRET_ARN[:-7]), REGION, secret()) == []


def test_without_the_secret_the_credential_arn_must_still_name_the_regions_secret() -> None:
    assert rule_differences(DOCKER_HUB, actual_rule(), REGION, None) == []
    other = SECRET_ARN.replace("docker-hub", "someone-else")
    assert [d.field for d in rule_differences(DOCKER_HUB, actual_rule(credentialArn=other), REGION, None)] == [
        "credentialArn"
    ]


def test_an_unauthenticated_upstream_must_have_no_credential_arn() -> None:
    quay = {"ecrRepositoryPrefix": "quay", "upstreamRegistry": "quay", "upstreamRegistryUrl": "quay.io"}
    assert rule_differences(QUAY, quay, REGION, None) == []
    assert rule_differences(QUAY, quay | {"credentialArn": SECRET_ARN}, REGION, None) == [
        Difference("credentialArn", SECRET_ARN, None)
    ]


# Templates
WANTED = CreationTemplate.default().to_ecr()


def in_ecr(**fields: Any) -> dict[str, Any]:
    """The default template as ECR shows it: defaults filled in, policy re-serialised, appliedFor set."""
    policy = json.dumps(json.loads(WANTED["lifecyclePolicy"]), indent=2)
    base = WANTED | {"lifecyclePolicy": policy, "appliedFor": ["PULL_THROUGH_CACHE"]}
    return base | {"encryptionConfiguration": {"encryptionType": "AES256"}} | fields


def test_a_template_as_ecr_fills_it_in_has_no_differences() -> None:
    assert template_differences(WANTED, in_ecr()) == []
    assert template_differences(WANTED, in_ecr(appliedFor=["CREATE_ON_PUSH", "PULL_THROUGH_CACHE"])) == []


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"imageTagMutability": "IMMUTABLE"}, ["imageTagMutability"]),
        ({"appliedFor": ["CREATE_ON_PUSH"]}, ["appliedFor"]),
        ({"repositoryPolicy": "{}"}, ["repositoryPolicy"]),
        ({"lifecyclePolicy": '{"rules":[]}', "description": "by hand"}, ["description", "lifecyclePolicy"]),
    ],
)
def test_each_differing_template_field_is_named(changes: dict[str, Any], fields: list[str]) -> None:
    assert [d.field for d in template_differences(WANTED, in_ecr(**changes))] == fields


def test_a_differing_template_says_what_it_holds_and_what_is_wanted() -> None:
    [finding] = template_findings(REGION, WANTED, in_ecr(imageTagMutability="IMMUTABLE"))
    assert finding.message == f"{REGION}: template differs: imageTagMutability IMMUTABLE, want MUTABLE"
    # A template that leaves a field out wants ECR's default for it.
    no_mutability = {k: v for k, v in WANTED.items() if k != "imageTagMutability"}
    assert template_differences(no_mutability, in_ecr(imageTagMutability="IMMUTABLE")) == [
        Difference("imageTagMutability", "IMMUTABLE", "MUTABLE")
    ]
    kms = {"encryptionType": "KMS"}
    [encrypted] = template_findings(REGION, WANTED, in_ecr(encryptionConfiguration=kms))
    assert encrypted.message == (
        f'{REGION}: template differs: encryptionConfiguration {{"encryptionType":"KMS"}}, '
        'want {"encryptionType":"AES256"}'
    )
    # A policy document is too long to quote: it is named.
    [lifecycle] = template_findings(REGION, WANTED, in_ecr(lifecyclePolicy='{"rules":[]}'))
    assert lifecycle.message == f"{REGION}: template differs: lifecyclePolicy changed"
    assert [f.message for f in template_findings(REGION, WANTED, None)] == [f"{REGION}: template missing"]


# Secrets: by version id, never by value
def test_the_current_version_is_the_one_labelled_awscurrent() -> None:
    assert current_version({V1: ["AWSPREVIOUS"], V2: ["AWSCURRENT", "custom"], "old": []}) == V2
    assert current_version({V1: ["AWSPENDING"]}) is None and current_version(None) is None


def test_a_secret_whose_version_moved_since_the_rollout_changed_outside_pullthrough() -> None:
    assert secret_findings(REGION, secret(V1), Deployed(**deployed(V1))) == []
    [changed] = secret_findings(REGION, secret(V2), Deployed(**deployed(V1)))
    assert (changed.resource, changed.kind) == ("secret", "changed")
    assert changed.message == f"{REGION}: secret value changed outside pullthrough"


def test_a_secret_created_again_under_the_same_name_is_reported_as_replaced() -> None:
    [replaced] = secret_findings(REGION, secret(V1, SECRET_ARN.replace("AbCdEf", "New123")), Deployed(**deployed(V1)))
    assert replaced.kind == "replaced"
    assert replaced.message == f"{REGION}: secret deleted and created again outside pullthrough"


def test_without_a_recorded_version_only_a_missing_secret_is_drift() -> None:
    assert secret_findings(REGION, secret(V2), None) == []
    assert secret_findings(REGION, secret(V2), Deployed(**deployed(None, None))) == []
    assert [f.message for f in secret_findings(REGION, None, None)] == [f"{REGION}: secret missing"]
    assert [f.message for f in secret_findings(REGION, None, Deployed(**deployed()))] == [f"{REGION}: secret missing"]


def test_the_source_secret_is_compared_with_the_version_the_last_rollout_copied() -> None:
    listed = {"source": secret(V1, SOURCE_ARN), "regional": secret(V2)}
    assert source_findings(HOME, SOURCE_ARN, listed, V1) == []
    assert source_findings(HOME, SOURCE_ARN[:-7], listed, V1) == []  # a partial ARN names it too
    assert source_findings(HOME, SOURCE_ARN, listed, None) == []  # not recorded: nothing to compare
    [changed] = source_findings(HOME, SOURCE_ARN, listed, V2)
    assert (changed.region, changed.resource, changed.kind) == (HOME, "sourceSecret", "changed")
    assert changed.message == "source secret changed since the last rollout"
    [missing] = source_findings(HOME, SOURCE_ARN, {"regional": secret(V2)}, V1)
    assert missing.message == f"source secret missing: {SOURCE_ARN}"


# Regions
def test_a_region_holds_the_prefix_by_its_rule_a_pull_through_template_or_its_secret() -> None:
    everything = RegionInventory(
        rules={"docker-hub": actual_rule()},
        templates={"docker-hub": in_ecr()},
        secrets={NAME: secret()},
    )
    assert held_resources("docker-hub", everything) == ["rule", "template", "secret"]
    others_template = RegionInventory(rules={}, templates={"docker-hub": in_ecr(appliedFor=["CREATE_ON_PUSH"])})
    assert held_resources("docker-hub", others_template) == []
    assert held_resources("docker-hub", RegionInventory(rules={}, templates={}, secrets={})) == []


def in_sync() -> RegionInventory:
    return RegionInventory(
        rules={"docker-hub": actual_rule()}, templates={"docker-hub": in_ecr()}, secrets={NAME: secret()}
    )


def test_a_report_lists_desired_regions_then_undesired_ones_then_the_source_in_plain_words() -> None:
    rule = desired(
        creationTemplate=WANTED,
        regions=[REGION],
        deployed={REGION: deployed(V1), OTHER: deployed(V1, SECRET_ARN.replace(REGION, OTHER))},
        sourceSecretVersionId=V1,
    )
    held_elsewhere = RegionInventory(rules={"docker-hub": actual_rule()}, templates={}, secrets={})
    home = RegionInventory(secrets={"src": secret(V2, SOURCE_ARN)})
    drifted = RegionInventory(rules={}, templates={"docker-hub": in_ecr()}, secrets={NAME: secret(V2)})
    report = drift_report(
        rule, {at(REGION): drifted, at(OTHER): held_elsewhere, at(HOME): home}, "2026-11-30T00:00:00+00:00"
    )
    assert [entry["message"] for entry in report["drift"]] == [
        f"{REGION}: rule missing",
        f"{REGION}: secret value changed outside pullthrough",
        f"{OTHER}: holds the prefix but is not a desired region (rule)",
        "source secret changed since the last rollout",
    ]
    assert report["drift"][2] == {
        "region": OTHER,
        "resource": "region",
        "kind": "notDesired",
        "fields": ["rule"],
        "message": f"{OTHER}: holds the prefix but is not a desired region (rule)",
    }
    assert report["inSync"] is False and "unchecked" not in report
    clean = drift_report(
        rule,
        {
            at(REGION): in_sync(),
            at(OTHER): RegionInventory({}, {}, {}),
            at(HOME): RegionInventory(secrets={"s": secret(V1, SOURCE_ARN)}),
        },
        "now",
    )
    assert (clean["inSync"], clean["drift"]) == (True, [])


def test_a_rule_recorded_before_deployments_were_kept_is_checked_in_its_desired_regions_without_versions() -> None:
    rule = desired(creationTemplate=WANTED)
    assert rule.deployed == {at(REGION): Deployed()} and rule.undesired_targets == []
    changed_by_hand = RegionInventory(
        rules={"docker-hub": actual_rule()}, templates={"docker-hub": in_ecr()}, secrets={NAME: secret(V2)}
    )
    assert drift_report(rule, {at(REGION): changed_by_hand}, "now")["drift"] == []


def test_an_unreadable_region_is_unchecked_not_drifted() -> None:
    rule = desired(deployed={REGION: deployed(), OTHER: deployed()})
    report = drift_report(
        rule, {at(REGION): in_sync(), at(OTHER): RegionInventory(error="AwsUnavailable: down")}, "now"
    )
    assert report["drift"] == [] and report["inSync"] is False
    assert report["unchecked"] == [{"region": OTHER, "error": "AwsUnavailable: down"}]


def test_reads_cover_desired_regions_what_the_rule_uses_undesired_ones_everything_and_the_recorded_source() -> None:
    assert desired(QUAY, sourceSecretArn=None).reads() == {at(REGION): {"rules"}}
    assert desired().reads() == {at(REGION): {"rules", "secrets"}}  # no recorded source version: home not read
    assert desired(sourceSecretVersionId=V1).reads() == {at(REGION): {"rules", "secrets"}, at(HOME): {"secrets"}}
    assert desired(creationTemplate=WANTED).reads()[at(REGION)] == {"rules", "templates", "secrets"}
    left = desired(QUAY, sourceSecretArn=None, deployed={REGION: deployed(None, None), OTHER: deployed(None, None)})
    assert left.reads() == {at(REGION): {"rules"}, at(OTHER): {"rules", "templates", "secrets"}}


def test_one_read_per_region_whatever_the_number_of_rules() -> None:
    many = [
        desired(QUAY.model_copy(update={"ecrRepositoryPrefix": f"quay-{i}"}), sourceSecretArn=None) for i in range(50)
    ]
    assert target_reads([*many, desired(sourceSecretVersionId=V1)]) == {
        at(REGION): frozenset({"rules", "secrets"}),
        at(HOME): frozenset({"secrets"}),
    }


# Targets in other accounts
def in_two_accounts(rule: Rule = DOCKER_HUB, **item: Any) -> Desired:
    """The rule desired in eu-west-1 of the home account and MEMBER, deployed in both."""
    fields: dict[str, Any] = {
        "targetAccounts": [ACCOUNT, MEMBER],
        "accounts": [ACCOUNT, MEMBER],
        "deployed": {REGION: deployed()},
        "deployedElsewhere": {MEMBER: {REGION: deployed(arn=SECRET_ARN.replace(ACCOUNT, MEMBER))}},
    }
    return desired(rule, **(fields | item))


def member_in_sync() -> RegionInventory:
    arn = SECRET_ARN.replace(ACCOUNT, MEMBER)
    return RegionInventory(
        rules={"docker-hub": actual_rule(credentialArn=arn)}, templates={}, secrets={NAME: secret(V1, arn)}
    )


def test_each_desired_account_is_read_and_compared_and_findings_there_name_the_account() -> None:
    rule = in_two_accounts()
    assert rule.targets == [at(REGION), at(REGION, MEMBER)]
    assert rule.reads() == {at(REGION): {"rules", "secrets"}, at(REGION, MEMBER): {"rules", "secrets"}}
    in_sync_both = drift_report(rule, {at(REGION): in_sync(), at(REGION, MEMBER): member_in_sync()}, "now")
    assert (in_sync_both["inSync"], in_sync_both["drift"], in_sync_both["targets"]) == (True, [], [])

    changed = RegionInventory(rules={}, templates={}, secrets={NAME: secret(V2, SECRET_ARN.replace(ACCOUNT, MEMBER))})
    report = drift_report(rule, {at(REGION): in_sync(), at(REGION, MEMBER): changed}, "now")

    assert [(f["account"], f["region"], f["resource"], f["kind"]) for f in report["targets"]] == [
        (MEMBER, REGION, "rule", "missing"),
        (MEMBER, REGION, "secret", "changed"),
    ]
    assert [f["message"] for f in report["targets"]] == [
        f"{MEMBER} {REGION}: rule missing",
        f"{MEMBER} {REGION}: secret value changed outside pullthrough",
    ]
    assert report["drift"] == [] and report["inSync"] is False  # ``drift``: the home account's, none here


def test_an_account_no_longer_desired_is_read_for_everything_and_reported_if_it_still_holds_the_prefix() -> None:
    rule = in_two_accounts(targetAccounts=[ACCOUNT])
    assert rule.undesired_targets == [at(REGION, MEMBER)]
    assert rule.reads()[at(REGION, MEMBER)] == {"rules", "templates", "secrets"}
    report = drift_report(rule, {at(REGION): in_sync(), at(REGION, MEMBER): member_in_sync()}, "now")
    assert [f["message"] for f in report["targets"]] == [
        f"{MEMBER} {REGION}: holds the prefix but is not a desired target (rule, secret)"
    ]


def test_an_unreadable_member_target_is_unchecked_with_its_account_and_the_home_shape_stays_home_only() -> None:
    refused = RegionInventory(error="ExecutionRoleUnavailable: no role", role_unavailable=True)
    report = drift_report(in_two_accounts(), {at(REGION): in_sync(), at(REGION, MEMBER): refused}, "now")
    assert report["inSync"] is False and report["targets"] == []
    assert report["uncheckedTargets"] == [
        {"account": MEMBER, "region": REGION, "error": "ExecutionRoleUnavailable: no role"}
    ]
    assert "unchecked" not in report


def test_one_read_per_target_whatever_the_number_of_rules_in_many_accounts() -> None:
    many = [in_two_accounts(QUAY.model_copy(update={"ecrRepositoryPrefix": f"q-{i}"})) for i in range(50)]
    assert target_reads([*many, in_two_accounts()]) == {
        at(REGION): frozenset({"rules", "secrets"}),
        at(REGION, MEMBER): frozenset({"rules", "secrets"}),
    }


def test_the_repair_request_keeps_the_accounts_units_and_retention_of_the_desired_rule() -> None:
    request = in_two_accounts(organizationalUnits=["ou-ab12-cdefgh34"], retainOnAccountRemoval=True).repair_request()
    assert request.accounts == [ACCOUNT, MEMBER]
    assert request.organizationalUnits == ["ou-ab12-cdefgh34"]
    assert request.retainOnAccountRemoval is True
    home_only = desired().repair_request()
    assert (home_only.accounts, home_only.organizationalUnits, home_only.retainOnAccountRemoval) == (None, None, False)


def test_a_desired_item_with_a_malformed_deployment_record_is_refused_naming_it() -> None:
    with pytest.raises(ex.InvalidRequest) as refused:
        desired(deployed={REGION: "everything"})
    assert refused.value.field == f"deployed.{REGION}"


# Repair requests
def test_the_repair_request_rebuilds_the_desired_rule_and_keeps_a_skipped_template_skipped() -> None:
    request = desired(creationTemplate=WANTED, deployed={REGION: deployed(), OTHER: deployed()}).repair_request()
    assert request.rule() == DOCKER_HUB and request.credentialSecretArn == SOURCE_ARN
    assert request.template() == CreationTemplate.default() and request.regions == [REGION]  # desired regions only
    skipped = desired(QUAY, sourceSecretArn=None).repair_request()
    assert skipped.skips_template and skipped.template() is None and skipped.credentialSecretArn is None


# Input
def test_a_scheduled_event_is_a_plain_sweep_and_on_demand_requests_are_parsed() -> None:
    assert parse_sweep_event(load_event("drift_sweep")) == SweepRequest()
    assert parse_sweep_event(load_event("drift_sweep_on_demand")) == SweepRequest(mode="report")
    assert parse_sweep_event({}) == SweepRequest()
    assert parse_sweep_event({"mode": "repair", "prefixes": ["quay"]}).prefixes == ["quay"]


def test_the_mode_comes_from_drift_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DRIFT_MODE", raising=False)
    assert mode_from_env() == "report"
    monkeypatch.setenv("DRIFT_MODE", "repair")
    assert mode_from_env() == "repair"
    monkeypatch.setenv("DRIFT_MODE", "Repair")
    with pytest.raises(ex.InvalidRequest) as refused:
        mode_from_env()
    assert refused.value.field == "DRIFT_MODE"


def test_make_locals_event_log_shows_findings_in_other_accounts() -> None:
    finding = {"account": MEMBER, "region": REGION, "message": f"{MEMBER} {REGION}: rule missing"}
    event = {
        "detail-type": "Pull Through Cache Drift Detected",
        "detail": {"prefix": "p", "drift": [], "targets": [finding]},
    }
    assert f"{MEMBER} {REGION}: rule missing" in bus_log.line(event)


def test_the_sweep_cli_prints_each_accounts_findings_and_the_accounts_it_could_not_read() -> None:
    summary = {
        "mode": "report",
        "checkedAt": "now",
        "checkedTargets": 3,
        "prefixes": [
            {
                "prefix": "docker-hub",
                "inSync": False,
                "drift": [],
                "targets": [{"account": MEMBER, "region": REGION, "message": f"{MEMBER} {REGION}: rule missing"}],
                "uncheckedTargets": [
                    {"account": "999999999999", "region": REGION, "error": "ExecutionRoleUnavailable: x"}
                ],
            }
        ],
        "drifted": ["docker-hub"],
        "unreadableAccounts": {"999999999999": "ExecutionRoleUnavailable: x"},
        "unreadableTargets": [],
    }
    lines = local_sweep.render(summary).splitlines()
    assert lines[0].endswith("3 target(s) (account, region) read, 1 of 1 rule(s) drifted")
    assert f"    {MEMBER} {REGION}: rule missing" in lines
    assert f"    999999999999 {REGION}: not checked: ExecutionRoleUnavailable: x" in lines
    assert "unreadable account: 999999999999: ExecutionRoleUnavailable: x" in lines


def test_drift_metrics_count_findings_in_every_account(capsys: pytest.CaptureFixture[str]) -> None:
    member_finding = {"account": MEMBER, "region": REGION, "resource": "rule", "kind": "missing", "fields": []}
    drift_found({"prefixes": [{"prefix": "docker-hub", "drift": [], "targets": [member_finding]}]})
    emitted = [document for _, document in emf_documents(capsys.readouterr().out)]
    assert emf_points(emitted) == {("DriftFindings", (("resource", "rule"), ("kind", "missing"))): 1}
