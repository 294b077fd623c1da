"""Secret naming and region validation."""

from __future__ import annotations

import pytest

from pullthrough.exceptions import InvalidRequest, UnknownRegion
from pullthrough.regions import check_region, ecr_regions
from pullthrough.secret_names import arn_region, check_secret_name, secret_name_for, source_secret_name_for


def test_regional_secret_names_carry_ecrs_required_prefix() -> None:
    assert secret_name_for("docker-hub") == "ecr-pullthroughcache/docker-hub"
    assert secret_name_for("team/hub/") == "ecr-pullthroughcache/team/hub"


def test_source_secrets_cannot_collide_with_regional_ones() -> None:
    # Rule prefixes start with [a-z0-9], so "_source/..." is never a regional name.
    assert source_secret_name_for("docker-hub") == "ecr-pullthroughcache/_source/docker-hub"


@pytest.mark.parametrize(
    "bad", ["docker-hub", "ecr-pullthroughcache/", "ecr-pullthroughcache/a b", "ecr-pullthroughcache/" + "a" * 600]
)
def test_bad_secret_names_are_refused(bad: str) -> None:
    with pytest.raises(InvalidRequest):
        check_secret_name(bad)


def test_ecr_regions_come_from_botocore_and_include_the_big_ones() -> None:
    regions = ecr_regions()
    assert {"us-east-1", "eu-west-1", "ap-southeast-2"} <= regions
    assert len(regions) >= 25


@pytest.mark.parametrize("bad", ["mars-north-1", "us-east", "US-EAST-1", "", "eu-west-1 "])
def test_unknown_regions_are_refused_with_the_field(bad: str) -> None:
    with pytest.raises(UnknownRegion) as err:
        check_region(bad, field="regions[0]")
    assert err.value.field == "regions[0]"


def test_arn_region() -> None:
    assert arn_region("arn:aws:secretsmanager:eu-west-1:123456789012:secret:x-AbCdEf") == "eu-west-1"
    with pytest.raises(InvalidRequest):
        arn_region("not-an-arn")


def test_regions_of_another_partition_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    for other in ("cn-north-1", "us-gov-west-1"):
        with pytest.raises(UnknownRegion, match="partition"):
            check_region(other)
    monkeypatch.setenv("AWS_REGION", "cn-north-1")
    assert check_region("cn-northwest-1") == "cn-northwest-1"
