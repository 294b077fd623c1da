"""Region names: which ones ECR serves, from botocore's partition data (no network)."""

from __future__ import annotations

import re
from functools import cache

import botocore.session

from pullthrough.exceptions import UnknownRegion

REGION_PATTERN = re.compile(r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}")


@cache
def ecr_regions() -> frozenset[str]:
    """Every region in which ECR is offered, across partitions, as botocore knows them."""
    session = botocore.session.get_session()
    regions: set[str] = set()
    for partition in session.get_available_partitions():
        regions.update(session.get_available_regions("ecr", partition_name=partition))
    return frozenset(regions)


def check_region(name: str, field: str = "regions") -> str:
    """Return ``name`` when ECR serves that region; UnknownRegion naming ``field`` otherwise."""
    if not isinstance(name, str) or not REGION_PATTERN.fullmatch(name):
        raise UnknownRegion(f"{name!r} is not a region name (like eu-west-1)", field=field)
    if name not in ecr_regions():
        raise UnknownRegion(f"{name!r} is not a region where ECR is offered", field=field)
    return name
