"""CreateRule: creates, updates in place (credentials only) or replaces the rule; re-applying writes nothing."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from local.emulator import ecr_extension
from pullthrough import exceptions as ex
from tests.integration.steps_support import run, task
from tests.support import CallLog

TARGET = "eu-west-1"


def rule_in_region(prefix: str = "docker-hub") -> Any:
    ecr = boto3.client("ecr", region_name=TARGET)
    return ecr.describe_pull_through_cache_rules(ecrRepositoryPrefixes=[prefix])["pullThroughCacheRules"][0]


@pytest.fixture
def stored(source_secret: str) -> dict[str, object]:
    """The task after StoreSecret ran in the target region."""
    base = task(sourceSecretArn=source_secret)
    return base | {"storeSecret": run("store_secret", base)}


def other_secret_arn(name: str = "ecr-pullthroughcache/other") -> str:
    sm = boto3.client("secretsmanager", region_name=TARGET)
    return sm.create_secret(Name=name, SecretString='{"username":"u","accessToken":"t"}')["ARN"]


def test_first_apply_creates_the_rule_with_the_regional_secret(stored: dict[str, object], call_log: CallLog) -> None:
    out = run("create_rule", stored)
    assert out["action"] == "created" and "prior" not in out
    rule = rule_in_region()
    assert rule["credentialArn"] == stored["storeSecret"]["secretArn"]  # type: ignore[index]
    assert (rule["upstreamRegistryUrl"], rule["upstreamRepositoryPrefix"]) == ("registry-1.docker.io", "ROOT")
    assert [op for *_, op in call_log.writes()] == ["CreatePullThroughCacheRule"]


def test_reapply_is_unchanged_with_no_write_call(stored: dict[str, object], call_log: CallLog) -> None:
    run("create_rule", stored)
    call_log.clear()
    assert run("create_rule", stored)["action"] == "unchanged"
    assert call_log.writes() == []


def test_a_new_credential_arn_updates_in_place_and_records_the_old_rule(
    stored: dict[str, object], call_log: CallLog
) -> None:
    run("create_rule", stored)
    old_arn = rule_in_region()["credentialArn"]
    new_arn = other_secret_arn()
    call_log.clear()
    out = run("create_rule", stored | {"storeSecret": {"action": "updated", "secretArn": new_arn}})
    assert out["action"] == "updated" and out["prior"]["credentialArn"] == old_arn
    assert rule_in_region()["credentialArn"] == new_arn
    assert [op for *_, op in call_log.writes()] == ["UpdatePullThroughCacheRule"]


def test_a_new_upstream_prefix_replaces_the_rule(stored: dict[str, object], call_log: CallLog) -> None:
    run("create_rule", stored)
    call_log.clear()
    changed = stored | {"rule": stored["rule"] | {"upstreamRepositoryPrefix": "library"}}  # type: ignore[operator]
    out = run("create_rule", changed)
    assert out["action"] == "replaced" and out["prior"]["upstreamRepositoryPrefix"] == "ROOT"
    assert rule_in_region()["upstreamRepositoryPrefix"] == "library"
    assert [op for *_, op in call_log.writes()] == ["DeletePullThroughCacheRule", "CreatePullThroughCacheRule"]


def test_the_fifty_first_rule_in_a_region_is_a_named_limit_failure(stored: dict[str, object]) -> None:
    ecr = boto3.client("ecr", region_name=TARGET)
    for i in range(50):
        ecr.create_pull_through_cache_rule(ecrRepositoryPrefix=f"filler{i}", upstreamRegistryUrl="public.ecr.aws")
    with pytest.raises(ex.RuleLimitExceeded, match="LimitExceededException"):
        run("create_rule", stored)


def test_a_secret_from_another_region_is_refused_before_ecr_is_called(
    stored: dict[str, object], call_log: CallLog
) -> None:
    foreign = "arn:aws:secretsmanager:us-west-2:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf"
    with pytest.raises(ex.InvalidRequest) as err:
        run("create_rule", stored | {"storeSecret": {"action": "created", "secretArn": foreign}})
    assert err.value.field == "storeSecret.secretArn" and call_log.calls == []


def test_an_authenticated_upstream_without_a_stored_secret_names_the_field(moto_aws: None) -> None:
    with pytest.raises(ex.InvalidRequest) as err:
        run("create_rule", task("create_rule", storeSecret=None))
    assert err.value.field == "storeSecret"


def test_ecr_refusing_the_secret_is_a_named_failure(stored: dict[str, object]) -> None:
    missing = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ecr-pullthroughcache/gone-AbCdEf"
    with pytest.raises(ex.UpstreamSecretRejected, match="SecretNotFoundException"):
        run("create_rule", stored | {"storeSecret": {"action": "created", "secretArn": missing}})


def test_a_replacement_whose_create_fails_puts_the_old_rule_back(stored: dict[str, object]) -> None:
    run("create_rule", stored)
    before = rule_in_region()
    changed = stored | {"rule": stored["rule"] | {"upstreamRepositoryPrefix": "library"}}  # type: ignore[operator]
    ecr_extension.inject("CreatePullThroughCacheRule", "InvalidParameterException", "refused", region=TARGET)
    try:
        with pytest.raises(ex.AwsRequestRejected, match="refused"):
            run("create_rule", changed)
    finally:
        ecr_extension.clear()
    after = rule_in_region()
    assert {k: after[k] for k in ("upstreamRepositoryPrefix", "credentialArn")} == {
        k: before[k] for k in ("upstreamRepositoryPrefix", "credentialArn")
    }
