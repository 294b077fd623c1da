"""Which Secrets Manager events start a rotation, and of which rule (pullthrough.rotation)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from pullthrough import exceptions as ex
from pullthrough.rotation import changed_secret, names_secret
from tests.support import load_event

HOME, REGION = "123456789012", "us-east-1"
SOURCE_ARN = f"arn:aws:secretsmanager:{REGION}:{HOME}:secret:ecr-pullthroughcache/_source/docker-hub-AbCdEf"


def event(**changes: Any) -> dict[str, Any]:
    sample = copy.deepcopy(load_event("source_secret_changed"))
    for path, value in changes.items():
        where = sample
        *parents, last = path.split("__")
        for key in parents:
            where = where[key]
        where[last] = value
    return sample


def test_a_put_secret_value_of_the_home_account_and_region_names_its_secret() -> None:
    assert changed_secret(event(), HOME, REGION) == "ecr-pullthroughcache/_source/docker-hub"


def test_a_completed_rotation_names_its_secret_by_arn() -> None:
    rotated = event(
        **{"detail-type": "AWS Service Event via CloudTrail"},
        detail__eventName="RotationSucceeded",
        detail__requestParameters=None,
        detail__additionalEventData={"SecretId": SOURCE_ARN},
    )
    assert changed_secret(rotated, HOME, REGION) == SOURCE_ARN


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"account": "210987654321"}, "account"),
        ({"detail__recipientAccountId": "210987654321"}, "detail.recipientAccountId"),
        ({"region": "eu-west-1"}, "region"),
        ({"detail__awsRegion": "eu-west-1"}, "detail.awsRegion"),
        ({"source": "pullthrough"}, "source"),
        ({"detail__eventName": "GetSecretValue"}, "detail.eventName"),
        ({"detail-type": "Pull Through Cache Rule Requested"}, "detail-type"),
        ({"detail__errorCode": "AccessDenied"}, "detail.errorCode"),
        ({"detail__requestParameters": {"secretId": SOURCE_ARN.replace(HOME, "210987654321")}}, "secretId"),
        ({"detail__requestParameters": {}}, "detail.requestParameters.secretId"),
    ],
)
def test_an_event_from_elsewhere_or_of_another_kind_is_refused_naming_the_field(
    changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(ex.InvalidRequest) as refused:
        changed_secret(event(**changes), HOME, REGION)
    assert refused.value.field == field


def test_a_secret_is_named_by_its_full_arn_or_its_name_only() -> None:
    assert names_secret(SOURCE_ARN, SOURCE_ARN)
    assert names_secret(SOURCE_ARN, "ecr-pullthroughcache/_source/docker-hub")
    assert not names_secret(SOURCE_ARN, "ecr-pullthroughcache/_source/docker")
    assert not names_secret(SOURCE_ARN, SOURCE_ARN.replace("AbCdEf", "XyZ123"))
    assert not names_secret(None, SOURCE_ARN)
