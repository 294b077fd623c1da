"""ValidateRule: passes for a working rule, fails with ECR's own failure text otherwise; never writes."""

from __future__ import annotations

import boto3
import pytest

from local.emulator import ecr_extension
from pullthrough import aws
from pullthrough import exceptions as ex
from tests.integration.steps_support import run, task
from tests.support import CallLog


@pytest.fixture
def created(source_secret: str) -> dict[str, object]:
    state = task(sourceSecretArn=source_secret)
    state["storeSecret"] = run("store_secret", state)
    state["createRule"] = run("create_rule", state)
    return state


def test_a_working_rule_validates_without_writing(created: dict[str, object], call_log: CallLog) -> None:
    assert run("validate_rule", created) == {"isValid": True}
    assert run("validate_rule", created) == {"isValid": True}
    assert call_log.writes() == [] and call_log.by_operation()["ValidatePullThroughCacheRule"] == 2


def test_a_rule_whose_secret_was_deleted_fails_with_ecrs_failure_text(created: dict[str, object]) -> None:
    sm = boto3.client("secretsmanager", region_name="eu-west-1")
    sm.delete_secret(SecretId=created["storeSecret"]["secretArn"], ForceDeleteWithoutRecovery=True)  # type: ignore[index]
    with pytest.raises(ex.RuleValidationFailed) as err:
        run("validate_rule", created)
    assert err.value.message.startswith("eu-west-1: ") and len(err.value.message) > len("eu-west-1: ")


def test_validating_an_unknown_prefix_is_rule_not_found(moto_aws: None) -> None:
    with pytest.raises(ex.RuleNotFound):
        run("validate_rule", task("validate_rule"))


def test_a_rule_ecr_finds_invalid_fails_with_exactly_ecrs_failure_text(created: dict[str, object]) -> None:
    ecr_extension.fail_validation("docker-hub", "Unable to reach the upstream registry", region="eu-west-1")
    try:
        with pytest.raises(ex.RuleValidationFailed) as err:
            run("validate_rule", created)
    finally:
        ecr_extension.clear()
    assert err.value.message == "eu-west-1: Unable to reach the upstream registry"


def test_throttling_is_a_transient_error_the_state_machine_retries(created: dict[str, object]) -> None:
    ecr_extension.inject("ValidatePullThroughCacheRule", "ThrottlingException", region="eu-west-1", times=5)
    try:
        with pytest.raises(ex.AwsTransientError):
            run("validate_rule", created)
    finally:
        ecr_extension.clear()


def test_the_validation_call_reads_with_the_slow_reads_client(
    created: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    read_timeouts: list[float] = []
    real_client = aws.client

    def client(service: str, region: str, **options: object) -> object:
        made = real_client(service, region, **options)  # type: ignore[arg-type]

        def record(model: object, **_: object) -> None:
            if getattr(model, "name", "") == "ValidatePullThroughCacheRule":
                read_timeouts.append(made.meta.config.read_timeout)

        made.meta.events.register("before-call.ecr.*", record, unique_id=f"read-timeout-{id(made)}")
        return made

    aws.reset()
    monkeypatch.setattr(aws, "client", client)
    assert run("validate_rule", created) == {"isValid": True}
    assert read_timeouts == [aws.SLOW_READ_CONFIG.read_timeout]  # type: ignore[attr-defined]
