"""Whether an account has enabled a region: Account Management's GetRegionOptStatus, on the emulator's extension."""

from __future__ import annotations

import boto3
import pytest

from local.emulator import region_opt
from pullthrough.adapters.account import AccountRegions


@pytest.fixture
def account(moto_aws: None) -> AccountRegions:
    region_opt.install()
    return AccountRegions(boto3.client("account", region_name="us-east-1"))


def test_a_default_region_is_enabled_and_an_opt_in_region_only_while_the_account_has_it(
    account: AccountRegions,
) -> None:
    admin = boto3.client("account", region_name="us-east-1")
    assert account.is_enabled("us-east-1")
    assert admin.get_region_opt_status(RegionName="us-east-1")["RegionOptStatus"] == "ENABLED_BY_DEFAULT"
    assert account.is_enabled("me-south-1")
    admin.disable_region(RegionName="me-south-1")
    assert not account.is_enabled("me-south-1")
    admin.enable_region(RegionName="me-south-1")
    assert account.is_enabled("me-south-1")
