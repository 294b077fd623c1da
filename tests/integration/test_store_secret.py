"""StoreSecret: copies the source secret's credentials into the target region, idempotently, never exposing them."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from pullthrough import exceptions as ex
from tests.integration.steps_support import run, task
from tests.support import HOME, CallLog

TARGET = "eu-west-1"


def target_value() -> dict[str, str]:
    sm = boto3.client("secretsmanager", region_name=TARGET)
    return json.loads(sm.get_secret_value(SecretId="ecr-pullthroughcache/docker-hub")["SecretString"])


def test_first_apply_creates_the_regional_secret_with_the_source_credentials(
    source_secret: str, call_log: CallLog
) -> None:
    out = run("store_secret", task(sourceSecretArn=source_secret))
    assert out["action"] == "created" and "priorVersionId" not in out
    assert out["secretArn"].startswith(
        f"arn:aws:secretsmanager:{TARGET}:123456789012:secret:ecr-pullthroughcache/docker-hub-"
    )
    assert target_value() == {"username": "octocat", "accessToken": "token-one"}
    assert [op for _, _, op in call_log.writes()] == ["CreateSecret"]


def test_reapply_changes_nothing_and_makes_no_write_call(source_secret: str, call_log: CallLog) -> None:
    first = run("store_secret", task(sourceSecretArn=source_secret))
    call_log.clear()
    again = run("store_secret", task(sourceSecretArn=source_secret))
    assert again["action"] == "unchanged" and again["secretArn"] == first["secretArn"]
    assert call_log.writes() == []


def test_a_changed_credential_updates_the_secret_and_records_the_prior_version(source_secret: str) -> None:
    first = run("store_secret", task(sourceSecretArn=source_secret))
    boto3.client("secretsmanager", region_name=HOME).put_secret_value(
        SecretId=source_secret, SecretString=json.dumps({"username": "octocat", "accessToken": "token-two"})
    )
    changed = run("store_secret", task(sourceSecretArn=source_secret))
    assert changed["action"] == "updated"
    assert changed["priorVersionId"] == first["versionId"] != changed["versionId"]
    assert target_value()["accessToken"] == "token-two"


def test_unauthenticated_upstreams_skip_the_step_without_any_call(moto_aws: None, call_log: CallLog) -> None:
    rule = {"ecrRepositoryPrefix": "quay", "upstreamRegistry": "quay", "upstreamRegistryUrl": "quay.io"}
    out = run("store_secret", task(rule=rule, sourceSecretArn=None))
    assert out == {"action": "skipped"} and call_log.calls == []


def test_a_missing_source_secret_is_a_named_failure(moto_aws: None) -> None:
    missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/_source/nope-AbCdEf"
    with pytest.raises(ex.SourceSecretNotFound, match="does not exist"):
        run("store_secret", task(sourceSecretArn=missing))


def test_a_missing_source_arn_for_an_authenticated_upstream_names_the_field(moto_aws: None) -> None:
    with pytest.raises(ex.InvalidRequest) as err:
        run("store_secret", task(sourceSecretArn=None))
    assert err.value.field == "sourceSecretArn"


@pytest.mark.parametrize(
    "value",
    ["not json", json.dumps(["a"]), json.dumps({"username": "u"}), json.dumps({"username": "", "accessToken": "t"})],
)
def test_a_malformed_source_secret_is_refused_before_anything_is_written(
    moto_aws: None, call_log: CallLog, value: str
) -> None:
    arn = boto3.client("secretsmanager", region_name=HOME).create_secret(
        Name="ecr-pullthroughcache/_source/bad", SecretString=value
    )["ARN"]
    with pytest.raises(ex.SourceSecretMalformed):
        run("store_secret", task(sourceSecretArn=arn))
    assert call_log.writes() == []


@pytest.mark.parametrize(
    ("field", "value"), [("region", "mars-1"), ("rolloutId", ""), ("rule", {"ecrRepositoryPrefix": "x"})]
)
def test_bad_task_input_names_the_field(moto_aws: None, field: str, value: Any) -> None:
    with pytest.raises(ex.InvalidRequest) as err:
        run("store_secret", task(**{field: value}))
    assert err.value.field is not None and err.value.field.startswith(field)
