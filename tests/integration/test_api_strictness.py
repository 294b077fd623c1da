"""The API takes a request only as written: unknown query parameters, bodies that are not UTF-8 or not JSON, and
values of the wrong JSON type are refused with the field named and what to do, before anything is started."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.app_support import AppEnv, api, provision
from tests.support import FakeContext, load_handler

FINISH = load_handler("finish_rollout")
QUAY = {"upstreamRegistry": "quay", "regions": ["us-east-1"]}


@pytest.fixture
def app(moto_aws: None, monkeypatch: pytest.MonkeyPatch) -> AppEnv:
    return provision(monkeypatch)


def _deployed_quay(app: AppEnv) -> None:
    status, started = api("POST", "/rules", QUAY)
    assert status == 202, started
    FINISH.handler({"rolloutId": started["rolloutId"], "prefix": "quay", "regionResults": []}, FakeContext())


def test_a_misspelt_dry_run_on_delete_is_refused_and_deletes_nothing(app: AppEnv) -> None:
    _deployed_quay(app)
    started = len(app.executions())
    status, answer = api("DELETE", "/rules/quay", query={"dryrun": "true"})
    assert status == 400
    assert answer["errors"] == [
        {"field": "dryrun", "message": "is not a query parameter of DELETE /rules/{prefix} (it takes: dryRun)"}
    ]
    assert answer["message"] == "dryrun: " + answer["errors"][0]["message"]
    assert len(app.executions()) == started
    assert api("GET", "/rules/quay")[0] == 200


def test_a_misspelt_dry_run_on_post_is_refused_and_applies_nothing(app: AppEnv) -> None:
    status, answer = api("POST", "/rules", QUAY, query={"dryrun": "true", "verbose": "1"})
    assert status == 400
    assert [e["field"] for e in answer["errors"]] == ["dryrun", "verbose"]
    assert app.executions() == []


def test_a_route_without_query_parameters_says_so(app: AppEnv) -> None:
    status, answer = api("GET", "/rules", query={"limit": "5"})
    assert status == 400
    assert answer["errors"] == [{"field": "limit", "message": "is not a query parameter of GET /rules (it takes none)"}]


@pytest.mark.parametrize("value", ["1", "yes", "True", ""])
def test_dry_run_is_only_true_or_false(app: AppEnv, value: str) -> None:
    status, answer = api("POST", "/rules", QUAY, query={"dryRun": value})
    assert (status, answer["errors"]) == (422, [{"field": "dryRun", "message": "must be true or false"}])
    assert app.executions() == []


def test_a_body_that_is_not_utf8_is_a_400(app: AppEnv) -> None:
    status, answer = api("POST", "/rules", binary=b'{"upstreamRegistry": "qu\xffay", "regions": ["us-east-1"]}')
    assert status == 400
    assert answer["errors"] == [{"field": "body", "message": "is not UTF-8 text: send JSON encoded in UTF-8"}]
    assert app.executions() == []


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        ('{"upstreamRegistry": "quay",\n "regions": [}', "line 2, column 14"),
        ('{"upstreamRegistry": "quay", "regions": ["us-east-1"],}', "line 1, column 54"),
        ("upstreamRegistry=quay", "line 1, column 1"),
    ],
)
def test_malformed_json_is_a_400_with_line_and_column(app: AppEnv, raw: str, where: str) -> None:
    status, answer = api("POST", "/rules", raw=raw)
    assert status == 400
    [error] = answer["errors"]
    assert error["field"] == "body"
    assert error["message"].startswith(f"is not valid JSON at {where}: "), error["message"]
    assert error["message"].endswith("; send one JSON object")
    assert app.executions() == []


ROLLOUT_TYPES: list[tuple[dict[str, Any], str, str]] = [
    ({"failureTolerance": True}, "rollout.failureTolerance", "must be a whole number"),
    ({"maxConcurrency": "2"}, "rollout.maxConcurrency", "must be a whole number"),
    ({"accountConcurrency": 2.0}, "rollout.accountConcurrency", "must be a whole number"),
    ({"failureTolerancePercentage": "10"}, "rollout.failureTolerancePercentage", "must be a whole number"),
]


@pytest.mark.parametrize(("options", "field", "message"), ROLLOUT_TYPES, ids=[f for _, f, _ in ROLLOUT_TYPES])
def test_rollout_options_are_never_coerced(app: AppEnv, options: dict[str, Any], field: str, message: str) -> None:
    status, answer = api("POST", "/rules", QUAY | {"rollout": options})
    assert (status, answer["errors"]) == (422, [{"field": field, "message": message}])
    assert answer["message"] == f"{field}: {message}"
    assert app.executions() == []


@pytest.mark.parametrize("name", ["X-Idempotency-Key", "IdempotencyKey", "idempotency_key"])
def test_a_header_that_looks_like_idempotency_key_is_refused_naming_it(app: AppEnv, name: str) -> None:
    status, answer = api("POST", "/rules", QUAY, headers={name: "deploy-42"})
    assert status == 400
    assert answer["errors"] == [
        {"field": name.lower(), "message": "is not a header of POST /rules: did you mean Idempotency-Key?"}
    ]
    assert app.executions() == []


def test_the_idempotency_key_header_itself_is_taken_in_any_case(app: AppEnv) -> None:
    assert api("POST", "/rules", QUAY, headers={"IDEMPOTENCY-KEY": "deploy-42"})[0] == 202
