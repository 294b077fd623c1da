"""A canary credential copied by StoreSecret shows up nowhere but Secrets Manager: not in logs, output or errors."""

from __future__ import annotations

import json
import logging
import traceback

import boto3
import pytest

from tests.integration.steps_support import run, run_all, task
from tests.support import CANARY, HOME


def canary_source(value: dict[str, object]) -> str:
    sm = boto3.client("secretsmanager", region_name=HOME)
    return sm.create_secret(Name="ecr-pullthroughcache/_source/canary", SecretString=json.dumps(value))["ARN"]


def test_the_canary_reaches_the_regional_secret_and_nothing_else(
    moto_aws: None, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    arn = canary_source({"username": "octocat", "accessToken": CANARY})
    outputs = [
        run_all(task(sourceSecretArn=arn)),
        run_all(task(sourceSecretArn=arn)),
        run("rollback", task(sourceSecretArn=arn)),
    ]

    stored = boto3.client("secretsmanager", region_name="eu-west-1")
    # The value is really there (the test would prove nothing if it never travelled)...
    run_all(task(sourceSecretArn=arn))
    assert CANARY in stored.get_secret_value(SecretId="ecr-pullthroughcache/docker-hub")["SecretString"]
    # ...and nowhere else.
    captured = capsys.readouterr()
    assert CANARY not in json.dumps(outputs)
    assert CANARY not in captured.out + captured.err
    assert CANARY not in caplog.text


@pytest.mark.parametrize(
    "value",
    [
        {"username": CANARY},  # accessToken missing
        {"username": "", "accessToken": CANARY},
        CANARY,  # not an object
    ],
)
def test_errors_about_a_malformed_secret_never_quote_it(
    moto_aws: None, capsys: pytest.CaptureFixture[str], value: object
) -> None:
    sm = boto3.client("secretsmanager", region_name=HOME)
    raw = value if isinstance(value, str) else json.dumps(value)
    arn = sm.create_secret(Name="ecr-pullthroughcache/_source/bad", SecretString=raw)["ARN"]
    with pytest.raises(Exception) as err:
        run("store_secret", task(sourceSecretArn=arn))
    assert CANARY not in "".join(traceback.format_exception(err.value))
    captured = capsys.readouterr()
    assert CANARY not in captured.out + captured.err
