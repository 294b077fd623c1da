"""An opt-in region a target account has not enabled is SKIPPED with error type RegionNotEnabled: the rest of the
rollout goes on and succeeds (GET /rollouts/{id} in DESIGN.md). The emulator answers Account Management's
GetRegionOptStatus (local/emulator/region_opt.py); the account's administrator disables the region, as AWS would
leave it in a new account."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from local.stack import EmbeddedStack
from tests.e2e.conftest import HOME_ACCOUNT, ApiCall

OPT_IN = "me-south-1"


def test_a_region_an_account_has_not_enabled_is_skipped_and_the_rollout_succeeds(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: Callable[..., dict[str, Any]]
) -> None:
    assert stack.organization is not None
    member = stack.organization.accounts_with_role[0]
    stack.client("account", account=member).disable_region(RegionName=OPT_IN)
    body = {
        "upstreamRegistry": "quay",
        "ecrRepositoryPrefix": "opt-in",
        "regions": ["us-east-1", OPT_IN],
        "accounts": [HOME_ACCOUNT, member],
    }
    status, started = api("POST", "/rules", body)
    assert status == 202, started

    finished = wait_rollout(started["rolloutId"])

    assert finished["status"] == "SUCCEEDED", finished
    targets = {(t["account"], t["region"]): t for t in finished["targets"]}
    skipped = targets[(member, OPT_IN)]
    assert skipped["status"] == "SKIPPED" and skipped["error"]["type"] == "RegionNotEnabled", skipped
    assert OPT_IN in skipped["error"]["message"]
    assert {key: t["status"] for key, t in targets.items() if key != (member, OPT_IN)} == {
        (HOME_ACCOUNT, "us-east-1"): "SUCCEEDED",
        (HOME_ACCOUNT, OPT_IN): "SUCCEEDED",
        (member, "us-east-1"): "SUCCEEDED",
    }
    rules = stack.client("ecr", OPT_IN, account=member).describe_pull_through_cache_rules()["pullThroughCacheRules"]
    assert not [r for r in rules if r["ecrRepositoryPrefix"] == "opt-in"]  # nothing written there
