"""PUT /rules/{prefix}: the prefix comes from the path, so IAM can grant execute-api:Invoke per prefix."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.app_support import AppEnv, api, provision


@pytest.fixture
def app(moto_aws: None, monkeypatch: pytest.MonkeyPatch) -> AppEnv:
    return provision(monkeypatch)


def quay(**fields: Any) -> dict[str, Any]:
    return {"upstreamRegistry": "quay", "regions": ["us-east-1", "eu-west-1"], **fields}


@pytest.mark.parametrize("path", ["/rules/team-a/quay", "/rules/team-a%2Fquay", "/rules/team-a/quay/"])
def test_put_rolls_out_the_rule_of_the_prefix_the_path_names(app: AppEnv, path: str) -> None:
    status, body = api("PUT", path, quay())
    assert status == 202, body
    assert body["prefix"] == "team-a/quay" and body["links"]["rule"] == "/rules/team-a%2Fquay"
    started = app.execution_input(body["rolloutId"])
    assert started["rule"]["ecrRepositoryPrefix"] == "team-a/quay"
    assert started["rule"]["upstreamRegistryUrl"] == "quay.io"


def test_put_takes_a_body_that_names_the_same_prefix(app: AppEnv) -> None:
    status, body = api("PUT", "/rules/team-a/quay", quay(ecrRepositoryPrefix="team-a/quay/"))
    assert status == 202 and body["prefix"] == "team-a/quay"


def test_put_refuses_a_body_that_names_another_prefix_and_starts_nothing(app: AppEnv) -> None:
    status, body = api("PUT", "/rules/team-a/quay", quay(ecrRepositoryPrefix="team-b/quay"))
    assert status == 422
    assert body["errors"][0]["field"] == "ecrRepositoryPrefix" and "team-a/quay" in body["message"]
    assert app.executions() == []


def test_put_validates_the_body_with_the_path_prefix(app: AppEnv) -> None:
    # ROOT takes no upstreamRepositoryPrefix: the check must see the path's prefix, not the upstream's default.
    status, body = api("PUT", "/rules/ROOT", quay(upstreamRepositoryPrefix="coreos"))
    assert status == 422 and body["errors"][0]["field"] == "upstreamRepositoryPrefix"
    assert app.executions() == []


def test_put_refuses_a_path_that_is_not_a_prefix(app: AppEnv) -> None:
    status, body = api("PUT", "/rules/Team_A!", quay())
    assert status == 422 and body["errors"][0]["field"] == "prefix"
    assert app.executions() == []


def test_put_answers_409_while_the_prefix_rolls_out(app: AppEnv) -> None:
    _, first = api("POST", "/rules", quay(ecrRepositoryPrefix="team-a/quay"))
    status, body = api("PUT", "/rules/team-a/quay", quay(regions=["ap-southeast-2"]))
    assert status == 409 and body["rolloutId"] == first["rolloutId"]


def test_put_dry_run_plans(app: AppEnv) -> None:
    status, body = api("PUT", "/rules/team-a/quay", quay(), query={"dryRun": "true"})
    assert status == 202 and body["mode"] == "PLAN"
