"""What the table keeps: finished rollouts expire through DynamoDB's TTL, the desired rules never do.

The embedded stack creates the table from template.yaml (its TimeToLiveSpecification and deletion protection
included), and the rollout runs through the real state machine and handlers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from local.stack import EmbeddedStack
from tests.e2e.conftest import HOME_ACCOUNT, ApiCall

DAY = 86400
_plain = TypeDeserializer()


def _items(stack: EmbeddedStack) -> list[dict[str, Any]]:
    ddb = stack.client("dynamodb")
    table = stack.environment["TABLE_NAME"]
    found = []
    for page in ddb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        found += [{k: _plain.deserialize(v) for k, v in item.items()} for item in page["Items"]]
    return found


def test_the_table_is_protected_and_expires_items_by_expires_at(stack: EmbeddedStack) -> None:
    ddb = stack.client("dynamodb")
    table = stack.environment["TABLE_NAME"]
    ttl = ddb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expiresAt")
    assert ddb.describe_table(TableName=table)["Table"]["DeletionProtectionEnabled"] is True


def test_a_finished_rollouts_items_expire_after_the_retention_and_the_rule_items_never(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: Callable[..., dict[str, Any]]
) -> None:
    assert stack.organization is not None
    member = stack.organization.accounts_with_role[0]
    days = int(stack.parameters["RolloutRetentionDays"])
    started_at = time.time()
    status, started = api(
        "POST",
        "/rules",
        {
            "upstreamRegistry": "quay",
            "ecrRepositoryPrefix": "retained",
            "regions": ["us-east-1", "eu-west-1"],
            "accounts": [HOME_ACCOUNT, member],
        },
    )
    assert status == 202, started
    assert wait_rollout(started["rolloutId"])["status"] == "SUCCEEDED"
    items = _items(stack)

    rollout = [i for i in items if i["pk"] == f"ROLLOUT#{started['rolloutId']}"]
    kinds = {str(i["sk"]).split("#", 1)[0] for i in rollout}
    assert {"ROLLOUT", "ACCOUNT", "REGION"} <= kinds, kinds  # the rollout, its accounts and its snapshots
    for item in rollout:
        expires = int(item.get("expiresAt", 0))
        assert started_at + days * DAY - 60 <= expires <= time.time() + days * DAY + 60, item["sk"]

    kept = [i for i in items if i["pk"] == "RULES" and i["sk"] == "retained"]
    kept += [i for i in items if i["pk"] == "DEPLOYED#retained"]
    assert kept and len(kept) == 2, [(i["pk"], i["sk"]) for i in kept]
    assert all("expiresAt" not in i for i in kept)
