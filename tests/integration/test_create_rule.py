"""CreateRule: creates, updates in place (credentials only) or replaces the rule; re-applying writes nothing."""

from __future__ import annotations

import json
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


def test_a_create_whose_answer_was_lost_is_retried_and_counts_as_created(
    stored: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """ECR created the rule but its answer never arrived (a read timeout; seen at 200 accounts x 17 regions on the
    emulator): botocore's retry then meets PullThroughCacheRuleAlreadyExistsException for the rule it just made."""
    from botocore.exceptions import ReadTimeoutError

    from pullthrough import aws

    lost: list[str] = []

    def lose_the_first_answer(request: Any, **_: Any) -> None:
        if not lost:  # ECR (moto, through a client of its own) creates the rule; its answer never arrives
            boto3.client("ecr", region_name=TARGET).create_pull_through_cache_rule(**json.loads(request.body))
            lost.append(rule_in_region()["ecrRepositoryPrefix"])
            raise ReadTimeoutError(endpoint_url=request.url)

    def hook(session: Any, _role: str | None) -> None:
        session.events.register_last("before-send.ecr.CreatePullThroughCacheRule", lose_the_first_answer)

    monkeypatch.setattr(aws, "session_hooks", [*aws.session_hooks, hook])
    aws.reset()

    out = run("create_rule", stored)

    assert lost == ["docker-hub"], "the rule was created, then its answer lost"
    assert out["action"] == "created"
    assert rule_in_region()["credentialArn"] == stored["storeSecret"]["secretArn"]  # type: ignore[index]


def test_a_rule_someone_else_created_meanwhile_is_not_taken_for_ours(
    stored: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """AlreadyExists for a rule that differs from the desired one is still an error: not ours to claim."""
    from pullthrough import aws

    def create_a_different_rule_first(**_: Any) -> None:
        boto3.client("ecr", region_name=TARGET).create_pull_through_cache_rule(
            ecrRepositoryPrefix="docker-hub", upstreamRegistryUrl="public.ecr.aws", upstreamRegistry="ecr-public"
        )

    def hook(session: Any, _role: str | None) -> None:
        session.events.register_first("before-send.ecr.CreatePullThroughCacheRule", create_a_different_rule_first)

    monkeypatch.setattr(aws, "session_hooks", [*aws.session_hooks, hook])
    aws.reset()

    with pytest.raises(ex.RuleAlreadyExists):
        run("create_rule", stored)
