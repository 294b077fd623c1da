"""Region names: which ones ECR serves, from botocore's partition data (no network)."""

from __future__ import annotations

import os
import re
from functools import cache

import botocore.session

from pullthrough.exceptions import UnknownRegion

REGION_PATTERN = re.compile(r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}")
# Regions an account must enable before using them (AWS launched them after March 2019: "opt-in regions"); every
# other region is enabled by default. A target in one of these asks the account first (GetRegionOptStatus).
OPT_IN_REGIONS = frozenset(
    {
        "af-south-1",
        "ap-east-1",
        "ap-east-2",
        "ap-south-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-6",
        "ap-southeast-7",
        "ca-west-1",
        "eu-central-2",
        "eu-south-1",
        "eu-south-2",
        "il-central-1",
        "me-central-1",
        "me-south-1",
        "mx-central-1",
    }
)


@cache
def ecr_regions(partition: str | None = None) -> frozenset[str]:
    """Regions in which ECR is offered, as botocore knows them: of one partition, or of all."""
    session = botocore.session.get_session()
    regions: set[str] = set()
    for name in [partition] if partition else session.get_available_partitions():
        regions.update(session.get_available_regions("ecr", partition_name=name))
    return frozenset(regions)


@cache
def partition_of(region: str) -> str:
    """The partition a region belongs to (aws, aws-cn, aws-us-gov, ...); ``aws`` when botocore does not know it."""
    session = botocore.session.get_session()
    for partition in session.get_available_partitions():
        if region in session.get_available_regions("ecr", partition_name=partition):
            return partition
    return "aws"


def home_region() -> str:
    """The region the app runs in (Lambda's AWS_REGION)."""
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def home_partition() -> str:
    """The partition of the region the app runs in: a rollout cannot cross partitions (no shared IAM or ARNs)."""
    return partition_of(home_region())


def check_region(name: str, field: str = "regions") -> str:
    """Return ``name`` when ECR serves that region in the app's partition; UnknownRegion naming ``field`` otherwise."""
    if not isinstance(name, str) or not REGION_PATTERN.fullmatch(name):
        raise UnknownRegion(f"{name!r} is not a region name (like eu-west-1)", field=field)
    if name not in ecr_regions():
        raise UnknownRegion(f"{name!r} is not a region where ECR is offered", field=field)
    partition = home_partition()
    if name not in ecr_regions(partition):
        raise UnknownRegion(f"{name!r} is outside this deployment's partition ({partition})", field=field)
    return name


def pull_uri_prefix(account: str, region: str, prefix: str) -> str:
    """Where images are pulled through a rule: ``<account>.dkr.ecr.<region>.amazonaws.com/<prefix>/`` (the registry
    alone for the ROOT prefix; amazonaws.com.cn in China)."""
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{account}.dkr.ecr.{region}.{suffix}/" + ("" if prefix == "ROOT" else f"{prefix}/")
