"""The API function on moto: 202 with a rollout id, status reads, and 4xx that name the field for bad input."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tests.integration.app_support import AppEnv, api, provision
from tests.support import CANARY, ECR_REFUSALS, HOME, CallLog, FakeContext, load_handler

FINISH = load_handler("finish_rollout")


@pytest.fixture
def app(moto_aws: None, monkeypatch: pytest.MonkeyPatch) -> AppEnv:
    return provision(monkeypatch)


def docker_hub(**fields: Any) -> dict[str, Any]:
    return {
        "upstreamRegistry": "docker-hub",
        "credentials": {"username": "octocat", "accessToken": CANARY},
        "regions": ["us-east-1", "eu-west-1"],
        **fields,
    }


def test_post_rules_stores_credentials_in_a_source_secret_and_starts_a_rollout_with_only_its_arn(app: AppEnv) -> None:
    status, body = api("POST", "/rules", docker_hub())
    assert status == 202 and body["status"] == "RUNNING" and body["rolloutId"].startswith("r-")
    assert set(body["regions"]) == {"us-east-1", "eu-west-1"}
    started = app.execution_input(body["rolloutId"])
    assert (
        started["sourceSecretArn"].split(":")[6]
        == "ecr-pullthroughcache/_source/docker-hub-" + started["sourceSecretArn"][-6:]
    )
    assert started["rule"]["upstreamRegistryUrl"] == "registry-1.docker.io"
    assert started["rollout"] == {
        "maxConcurrency": 0,
        "accountConcurrency": 20,
        "failureTolerance": 0,
        "checkTolerance": False,  # both regions start at once
        "settleSeconds": 35,
        "roleWait": {"attempts": 0, "seconds": 1},  # only an account's own rollout waits for its role
    }
    assert started["scale"] == "REGIONS" and started["accounts"] == []
    assert started["mode"] == "APPLY" and started["inlineCredentials"] is False
    assert CANARY not in json.dumps(started) and CANARY not in json.dumps(body)
    sm = boto3.client("secretsmanager", region_name=HOME)
    assert CANARY in sm.get_secret_value(SecretId=started["sourceSecretArn"])["SecretString"]


def test_a_second_request_for_a_prefix_that_is_rolling_out_gets_409_with_the_running_rollout(app: AppEnv) -> None:
    _, first = api("POST", "/rules", docker_hub())
    status, body = api("POST", "/rules", docker_hub(regions=["ap-southeast-2"]))
    assert status == 409 and body["rolloutId"] == first["rolloutId"]
    assert len(app.executions()) == 1


def test_the_prefix_frees_up_once_the_rollout_is_finished(app: AppEnv) -> None:
    _, first = api("POST", "/rules", docker_hub())
    FINISH.handler({"rolloutId": first["rolloutId"], "prefix": "docker-hub", "regionResults": []}, FakeContext())
    status, _ = api("POST", "/rules", docker_hub())
    assert status == 202 and len(app.executions()) == 2


def test_get_rollout_reports_each_region_and_404s_unknown_ids(app: AppEnv) -> None:
    _, started = api(
        "POST", "/rules", docker_hub(rollout={"maxConcurrency": 1, "regionOrder": ["eu-west-1", "us-east-1"]})
    )
    status, body = api("GET", f"/rollouts/{started['rolloutId']}")
    assert status == 200 and body["status"] == "RUNNING"
    assert body["regions"] == {
        r: {"status": "PENDING", "step": None, "error": None, "changes": {}} for r in ("eu-west-1", "us-east-1")
    }
    assert app.execution_input(started["rolloutId"])["regions"] == ["eu-west-1", "us-east-1"]
    assert api("GET", "/rollouts/r-nope")[0] == 404


def test_rules_are_listed_and_read_by_prefix_without_credentials(app: AppEnv) -> None:
    api("POST", "/rules", docker_hub())
    status, listed = api("GET", "/rules")
    assert status == 200 and [r["prefix"] for r in listed["rules"]] == ["docker-hub"]
    assert all("pk" not in r and "sk" not in r for r in listed["rules"])
    status, rule = api("GET", "/rules/docker-hub")
    assert status == 200 and rule["prefix"] == "docker-hub" and rule["rule"]["upstreamRegistry"] == "docker-hub"
    assert CANARY not in json.dumps(listed) + json.dumps(rule)
    assert api("GET", "/rules/quay")[0] == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"upstreamRegistry": "harbor", "regions": ["us-east-1"]}, "upstreamRegistry"),
        (docker_hub(ecrRepositoryPrefix="Bad Prefix"), "ecrRepositoryPrefix"),
        ({"upstreamRegistry": "docker-hub", "regions": ["us-east-1"]}, "credentials"),
        (
            {
                "upstreamRegistry": "quay",
                "credentials": {"username": "u", "accessToken": CANARY},
                "regions": ["us-east-1"],
            },
            "credentials",
        ),
        (docker_hub(regions=["mars-east-1"]), "regions"),
        (docker_hub(regions=[]), "regions"),
        (["not", "an", "object"], "body"),
    ],
)
def test_bad_bodies_get_422_naming_the_field_and_never_echo_the_credential(app: AppEnv, body: Any, field: str) -> None:
    status, answer = api("POST", "/rules", body)
    assert status == 422
    assert field in [e["field"].split(".")[0] for e in answer["errors"]] and field in answer["message"]
    assert CANARY not in json.dumps(answer)
    assert app.executions() == []


def test_malformed_json_is_a_400_on_the_body(app: AppEnv) -> None:
    status, answer = api("POST", "/rules", raw='{"upstreamRegistry": ')
    assert status == 400 and answer["errors"][0]["field"] == "body"


def test_delete_starts_a_delete_rollout_over_the_desired_rules_regions(app: AppEnv) -> None:
    _, first = api("POST", "/rules", docker_hub())
    FINISH.handler({"rolloutId": first["rolloutId"], "prefix": "docker-hub", "regionResults": []}, FakeContext())
    status, body = api("DELETE", "/rules/docker-hub")
    assert status == 202 and body["operation"] == "DELETE"
    started = app.execution_input(body["rolloutId"])
    # DELETE reaches every region the rule is desired in or held in, in name order.
    assert started["operation"] == "DELETE" and started["regions"] == ["eu-west-1", "us-east-1"]
    assert {t["action"] for t in started["targets"]} == {"REMOVE"}
    assert started["sourceSecretArn"] is None and started["creationTemplate"] is None


def test_deleting_an_unknown_rule_is_404(app: AppEnv) -> None:
    assert api("DELETE", "/rules/nothing-here")[0] == 404


def test_the_same_body_without_credentials_twice_returns_the_same_rollout(app: AppEnv) -> None:
    body = {"upstreamRegistry": "quay", "regions": ["eu-west-1"]}
    _, first = api("POST", "/rules", body)
    status, again = api("POST", "/rules", body)
    assert status == 202 and again["rolloutId"] == first["rolloutId"] and len(app.executions()) == 1


def test_an_idempotency_key_returns_the_same_rollout_even_after_it_finished(app: AppEnv) -> None:
    _, first = api("POST", "/rules", docker_hub(), headers={"Idempotency-Key": "deploy-42"})
    FINISH.handler({"rolloutId": first["rolloutId"], "prefix": "docker-hub", "regionResults": []}, FakeContext())
    status, again = api("POST", "/rules", docker_hub(), headers={"Idempotency-Key": "deploy-42"})
    assert status == 202 and again["rolloutId"] == first["rolloutId"] and len(app.executions()) == 1
    # Without the key, inline credentials are never deduplicated: a new credential must roll out.
    status, fresh = api("POST", "/rules", docker_hub())
    assert status == 202 and fresh["rolloutId"] != first["rolloutId"]


def test_the_openapi_document_is_served_at_swagger_format_json(app: AppEnv) -> None:
    status, document = api("GET", "/swagger", query={"format": "json"})
    assert status == 200 and "/rules" in document["paths"] and "/rollouts/{rolloutId}" in document["paths"]


def test_an_unknown_key_under_credentials_is_not_echoed(app: AppEnv) -> None:
    status, answer = api("POST", "/rules", docker_hub(credentials={"octocat": CANARY, CANARY: "x"}))
    assert status == 422 and CANARY not in json.dumps(answer)
    assert {e["field"] for e in answer["errors"]} <= {"credentials", "credentials.username", "credentials.accessToken"}


def test_the_same_body_after_its_rollout_finished_starts_a_new_rollout(app: AppEnv) -> None:
    body = {"upstreamRegistry": "quay", "regions": ["eu-west-1"]}
    _, first = api("POST", "/rules", body)
    FINISH.handler({"rolloutId": first["rolloutId"], "prefix": "quay", "regionResults": []}, FakeContext())
    status, again = api("POST", "/rules", body)
    assert status == 202 and again["rolloutId"] != first["rolloutId"]


def test_an_idempotency_key_reused_for_another_request_is_refused(app: AppEnv) -> None:
    api("POST", "/rules", {"upstreamRegistry": "quay", "regions": ["eu-west-1"]}, headers={"Idempotency-Key": "k1"})
    status, answer = api(
        "POST", "/rules", {"upstreamRegistry": "k8s", "regions": ["eu-west-1"]}, headers={"Idempotency-Key": "k1"}
    )
    assert status == 422 and answer["errors"][0]["field"] == "Idempotency-Key"


@pytest.mark.parametrize(
    "path", ["/rules/" + "x" * 3000, "/rollouts/" + "r" * 3000, "/rollouts/r-NOTHEX", "/rules/UPPER"]
)
def test_path_parameters_that_cannot_name_anything_are_404_not_5xx(app: AppEnv, path: str) -> None:
    assert api("GET", path)[0] == 404


def test_a_json_body_sent_as_form_data_is_read_as_json_and_never_echoed(app: AppEnv) -> None:
    # `curl -d @file` sends Content-Type application/x-www-form-urlencoded
    form = {"content-type": "application/x-www-form-urlencoded"}
    status, body = api("POST", "/rules", docker_hub(), headers=form)
    assert status == 202 and body["rolloutId"]
    status, answer = api("POST", "/rules", docker_hub(regions=[]), headers=form)
    assert status == 422 and answer["errors"][0]["field"] == "regions" and CANARY not in json.dumps(answer)


@pytest.mark.parametrize(("body", "field"), list(ECR_REFUSALS.values()), ids=list(ECR_REFUSALS))
def test_requests_ecr_would_refuse_are_422_naming_the_field_before_any_write(
    app: AppEnv, call_log: CallLog, body: dict[str, Any], field: str
) -> None:
    status, answer = api("POST", "/rules", body | {"regions": ["eu-west-1", "us-west-2"]})
    assert status == 422, answer
    assert [e["field"] for e in answer["errors"]] == [field] and answer["message"].startswith(f"{field}: ")
    assert "Value error" not in answer["message"]
    assert call_log.writes() == [] and app.executions() == []
    assert api("GET", "/rules")[1] == {"rules": []}


def test_a_trailing_slash_names_the_same_rule_and_the_same_lock(app: AppEnv) -> None:
    # Given: a rollout of "mirror" running
    _, first = api("POST", "/rules", docker_hub(ecrRepositoryPrefix="mirror"))

    # When: "mirror/" is requested meanwhile
    status, busy = api("POST", "/rules", docker_hub(ecrRepositoryPrefix="mirror/", regions=["ap-southeast-2"]))

    # Then: it is the same prefix: 409 naming the running rollout, one rule, found and deleted by either form
    assert status == 409 and busy["rolloutId"] == first["rolloutId"]
    assert len(app.executions()) == 1
    assert [rule["prefix"] for rule in api("GET", "/rules")[1]["rules"]] == ["mirror"]
    status, rule = api("GET", "/rules/mirror%2F")
    assert status == 200 and rule["prefix"] == "mirror"
    FINISH.handler({"rolloutId": first["rolloutId"], "prefix": "mirror", "regionResults": []}, FakeContext())
    status, deleting = api("DELETE", "/rules/mirror%2F")
    assert status == 202 and deleting["prefix"] == "mirror"
    assert app.execution_input(deleting["rolloutId"])["rule"]["ecrRepositoryPrefix"] == "mirror"


def test_a_rule_requested_as_x_slash_rolls_out_as_x(app: AppEnv) -> None:
    status, started = api("POST", "/rules", docker_hub(ecrRepositoryPrefix="team/mirror/"))
    assert status == 202 and started["prefix"] == "team/mirror"
    started_input = app.execution_input(started["rolloutId"])
    assert started_input["rule"]["ecrRepositoryPrefix"] == "team/mirror"
    assert started_input["sourceSecretArn"].split(":")[6].startswith("ecr-pullthroughcache/_source/team/mirror-")
