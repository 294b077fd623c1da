"""Listings that page, at Organization scale: a rule rolled out to 1,000 accounts x 17 regions (its items stored as
the state machine and FinishRollout write them; nothing executes) answers every call under 1 MB: the 202 counts the
targets, GET /rollouts/{id} and GET /rules/{prefix} list them 500 at a time, GET /rules counts them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import islice
from typing import Any

import boto3
import pytest

from pullthrough.models import RuleRequest, parse_model
from pullthrough.paging import PAGE_SIZE
from pullthrough.regions import ecr_regions
from pullthrough.rollouts.launch import launch
from pullthrough.rollouts.record import record_rollout
from pullthrough.rollouts.start import desired_of
from pullthrough.wiring import rollouts_from_env
from tests.integration.app_support import AppEnv, api, provision

HOME_ACCOUNT = "123456789012"
ORGANIZATION = [f"{100000000000 + n:012d}" for n in range(1000)]
SOME = ORGANIZATION[:70]  # 1,190 targets: three pages
REGIONS = sorted(ecr_regions("aws"))[:17]
PREFIX = "org/docker-hub"
RESPONSE_BUDGET = 1024 * 1024
FAILURE = {
    "Error": "RuleValidationFailed",
    "Cause": json.dumps({"errorMessage": "ECR said no: " + "r" * 300, "errorType": "RuleValidationFailed"}),
}


@pytest.fixture
def app(moto_aws: None, monkeypatch: pytest.MonkeyPatch) -> AppEnv:
    return provision(monkeypatch)


def result(rollout_id: str, account: str, region: str) -> dict[str, Any]:
    """A target's result as RecordRegionInAccount writes it: every one failed, so each carries an error."""
    return {
        "rolloutId": rollout_id,
        "account": account,
        "region": region,
        "action": "APPLY",
        "status": "FAILED",
        "step": "ValidateRule",
        "error": FAILURE,
        "changes": {"secret": "created", "rule": "created", "template": "skipped"},
    }


def org_wide(app: AppEnv, accounts: list[str]) -> tuple[str, dict[str, Any]]:
    """The rollout of a rule to ``accounts`` x REGIONS as recorded, every target's result in, and the rule recorded
    as held in every target; its id and the 202 the start answered with."""
    deps = rollouts_from_env()
    request = parse_model(RuleRequest, {"upstreamRegistry": "quay", "ecrRepositoryPrefix": PREFIX, "regions": REGIONS})
    rollout_id = "r-" + "a" * 32
    recorded = record_rollout(deps, rollout_id, PREFIX, "APPLY", desired_of(request, None, accounts), None)
    accepted = launch(deps, recorded)
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(app.table)
    with table.batch_writer() as batch:
        for account in accounts:
            regions = {}
            for region in REGIONS:
                found = result(rollout_id, account, region)
                regions[region] = {"status": "FAILED", "action": "APPLY", "detail": json.dumps(found)}
            batch.put_item(
                Item={"pk": f"ROLLOUT#{rollout_id}", "sk": f"ACCOUNT#{account}", "regions": regions, "rollback": {}}
            )
    entry = {"secretArn": "arn:aws:secretsmanager:x:1:secret:ecr-pullthroughcache/org/docker-hub-AbCdEf"}
    held = {account: {region: entry | {"rolloutId": rollout_id} for region in REGIONS} for account in accounts}
    deps.store.save_deployed(PREFIX, {}, held, {})
    return rollout_id, accepted


def size(body: Any) -> int:
    return len(json.dumps(body).encode())


def pages(path: str) -> Iterator[dict[str, Any]]:
    """GET ``path``, then each page its nextToken points to; every answer under 1 MB."""
    token = None
    while True:
        status, body = api("GET", path, query={"nextToken": token} if token else None)
        assert status == 200, body
        assert size(body) < RESPONSE_BUDGET, (path, size(body))
        yield body
        token = body.get("nextToken")
        if token is None:
            return


def test_at_1000_accounts_x_17_regions_every_answer_is_under_1_mb(app: AppEnv) -> None:
    rollout_id, accepted = org_wide(app, ORGANIZATION)
    every = len(ORGANIZATION) * len(REGIONS)

    assert size(accepted) < RESPONSE_BUDGET
    assert "targets" not in accepted and accepted["targetCounts"] == {"PENDING": every}
    shown = list(islice(pages(f"/rollouts/{rollout_id}"), 2))
    assert [len(p["targets"]) for p in shown] == [PAGE_SIZE, PAGE_SIZE]
    assert shown[0]["regions"] == {}  # the home account is not a target
    status, rules = api("GET", "/rules")
    assert status == 200 and size(rules) < RESPONSE_BUDGET
    (rule,) = rules["rules"]
    assert "deployedTargets" not in rule
    assert rule["deployedCounts"] == {"targets": every, "accounts": len(ORGANIZATION), "regions": len(REGIONS)}
    shown = list(islice(pages("/rules/org%2Fdocker-hub"), 2))
    assert [len(p["deployedTargets"]) for p in shown] == [PAGE_SIZE, PAGE_SIZE]


def test_the_pages_list_every_target_once_and_a_token_of_another_listing_is_refused(app: AppEnv) -> None:
    rollout_id, _ = org_wide(app, SOME)
    every = sorted((a, r) for a in SOME for r in REGIONS)

    listed = [t for shown in pages(f"/rollouts/{rollout_id}") for t in shown["targets"]]
    assert [(t["account"], t["region"]) for t in listed] == every
    assert {t["status"] for t in listed} == {"FAILED"}
    deployed = [t for shown in pages("/rules/org%2Fdocker-hub") for t in shown["deployedTargets"]]
    assert [(t["account"], t["region"]) for t in deployed] == every
    one = deployed[0]
    assert one["pullUriPrefix"] == f"{one['account']}.dkr.ecr.{one['region']}.amazonaws.com/org/docker-hub/"

    rule_token = api("GET", "/rules/org%2Fdocker-hub")[1]["nextToken"]
    rollout_token = api("GET", f"/rollouts/{rollout_id}")[1]["nextToken"]
    for path, token in [
        (f"/rollouts/{rollout_id}", rule_token),
        ("/rules/org%2Fdocker-hub", rollout_token),
        (f"/rollouts/{rollout_id}", "not-a-token"),
        ("/rules/org%2Fdocker-hub", "eyJvZiI6MX0"),  # JSON, but not a token's
    ]:
        status, body = api("GET", path, query={"nextToken": token})
        assert status == 422, body
        assert [e["field"] for e in body["errors"]] == ["nextToken"] and body["message"].startswith("nextToken: ")


def test_a_small_rollout_answers_as_before_every_target_listed_and_no_token(app: AppEnv) -> None:
    status, started = api("POST", "/rules", {"upstreamRegistry": "quay", "regions": ["us-east-1", "eu-west-1"]})
    assert status == 202
    assert [(t["account"], t["region"]) for t in started["targets"]] == [
        (HOME_ACCOUNT, "us-east-1"),
        (HOME_ACCOUNT, "eu-west-1"),
    ]
    status, shown = api("GET", f"/rollouts/{started['rolloutId']}")
    assert status == 200 and len(shown["targets"]) == 2 and "nextToken" not in shown
