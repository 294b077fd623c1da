"""Translation of botocore errors: a request the SDK refuses is permanent and never quotes a value."""

from __future__ import annotations

import traceback

import boto3
import pytest

from pullthrough import exceptions as ex
from pullthrough.adapters.errors import translated

CANARY = "canary-access-token-5d1e"


def test_a_request_the_sdk_refuses_names_each_problem_but_no_value() -> None:
    sm = boto3.client("secretsmanager", region_name="eu-west-1")  # refuses before any network call
    with pytest.raises(ex.SdkModelMismatch) as err, translated({}, "PutSecretValue"):
        sm.put_secret_value(SecretId="ecr-pullthroughcache/x", SecretString={"accessToken": CANARY}, Bogus=1)  # type: ignore[call-arg, arg-type]

    message = err.value.message
    assert message.startswith("PutSecretValue: botocore ")
    assert 'Unknown parameter in input: "Bogus"' in message
    assert "Invalid type for parameter SecretString" in message
    assert not err.value.transient
    # Not in the message, nor in a logged traceback (the botocore error, which quotes the value, is not chained).
    assert CANARY not in "".join(traceback.format_exception(err.value))
