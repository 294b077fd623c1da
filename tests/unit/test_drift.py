"""Drift comparison without AWS: rules, templates, secret freshness, and the sweep's input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pullthrough import exceptions as ex
from pullthrough.adapters.secret_listing import ListedSecret
from pullthrough.drift import (
    Desired,
    RegionState,
    SweepRequest,
    mode_from_env,
    parse_sweep_event,
    region_drift,
    rule_differences,
    secret_is_stale,
    template_differences,
)
from pullthrough.models import CreationTemplate, Rule
from tests.support import load_event

REGION = "eu-west-1"
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf"
SOURCE_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/_source/docker-hub-XyZ123"
T0 = datetime(2026, 11, 1, tzinfo=UTC)
DOCKER_HUB = Rule(
    ecrRepositoryPrefix="docker-hub", upstreamRegistry="docker-hub", upstreamRegistryUrl="registry-1.docker.io"
)
QUAY = Rule(ecrRepositoryPrefix="quay", upstreamRegistry="quay", upstreamRegistryUrl="quay.io")


def secret(at: datetime = T0, arn: str = SECRET_ARN) -> ListedSecret:
    return ListedSecret(arn.split(":")[6][:-7], arn, at)


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
            "updatedAt": T0.isoformat(timespec="seconds"),
            **item,
        }
    )


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
    assert rule_differences(DOCKER_HUB, actual_rule(**changes), REGION, secret()) == fields


def test_a_partial_credential_arn_naming_the_secret_fits() -> None:
    assert rule_differences(DOCKER_HUB, actual_rule(credentialArn=SECRET_ARN[:-7]), REGION, secret()) == []


def test_without_the_secret_the_credential_arn_must_still_name_the_regions_secret() -> None:
    assert rule_differences(DOCKER_HUB, actual_rule(), REGION, None) == []
    other = SECRET_ARN.replace("docker-hub", "someone-else")
    assert rule_differences(DOCKER_HUB, actual_rule(credentialArn=other), REGION, None) == ["credentialArn"]


def test_an_unauthenticated_upstream_must_have_no_credential_arn() -> None:
    quay = {"ecrRepositoryPrefix": "quay", "upstreamRegistry": "quay", "upstreamRegistryUrl": "quay.io"}
    assert rule_differences(QUAY, quay, REGION, None) == []
    assert rule_differences(QUAY, quay | {"credentialArn": SECRET_ARN}, REGION, None) == ["credentialArn"]


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
    assert template_differences(WANTED, in_ecr(**changes)) == fields


# Secrets
def test_a_secret_is_stale_only_when_the_source_changed_after_the_copy_and_the_last_rollout() -> None:
    later = T0 + timedelta(hours=1)
    assert secret_is_stale(secret(T0), secret(later, SOURCE_ARN), T0) is True
    assert secret_is_stale(secret(later), secret(T0, SOURCE_ARN), T0) is False
    # The regional copy is older but the last rollout started after the change: StoreSecret found it equal.
    assert secret_is_stale(secret(T0), secret(later, SOURCE_ARN), later) is False
    assert secret_is_stale(secret(T0), None, None) is False


def test_region_drift_lists_rule_then_secret_then_template() -> None:
    state = RegionState(rules={}, templates={}, secrets={})
    assert [(d["resource"], d["kind"]) for d in region_drift(desired(creationTemplate=WANTED), REGION, state)] == [
        ("rule", "missing"),
        ("secret", "missing"),
        ("template", "missing"),
    ]


def test_a_stale_secret_is_reported_by_its_date_not_its_value() -> None:
    state = RegionState(rules={"docker-hub": actual_rule()}, secrets={"ecr-pullthroughcache/docker-hub": secret()})
    changed = secret(T0 + timedelta(days=2), SOURCE_ARN)
    assert region_drift(desired(), REGION, state, changed) == [
        {"region": REGION, "resource": "secret", "kind": "differs", "fields": ["LastChangedDate"]}
    ]


def test_a_rule_without_template_is_not_checked_for_one_and_reads_accordingly() -> None:
    rule = desired(QUAY, sourceSecretArn=None)
    assert rule.reads() == {REGION: {"rules"}}
    assert desired().reads() == {REGION: {"rules", "secrets"}, "us-east-1": {"secrets"}}
    assert desired(creationTemplate=WANTED).reads()[REGION] == {"rules", "templates", "secrets"}


# Repair requests
def test_the_repair_request_rebuilds_the_desired_rule_and_keeps_a_skipped_template_skipped() -> None:
    request = desired(creationTemplate=WANTED).repair_request()
    assert request.rule() == DOCKER_HUB and request.credentialSecretArn == SOURCE_ARN
    assert request.template() == CreationTemplate.default() and request.regions == [REGION]
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
