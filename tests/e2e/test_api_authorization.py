"""Who may change which rule: two teams, each allowed execute-api:Invoke on its own prefixes only.

The local API checks a signed call as API Gateway's AWS_IAM authorization does (local/api_auth.py): the SigV4
signature against the emulator's keys, then the caller's identity policies for execute-api:Invoke on the route's
ARN. The policy is docs/cli.md's "held to its own prefixes" (README, Security model).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from local.stack import EmbeddedStack
from tests.e2e.conftest import call_api

pytestmark = pytest.mark.e2e
API_ARN = "arn:aws:execute-api:us-east-1:123456789012:*/*"


def team_policy(team: str) -> dict[str, Any]:
    """docs/cli.md's policy: read everything, change only the team's own prefixes."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "execute-api:Invoke",
                "Resource": [
                    f"{API_ARN}/PUT/rules/{team}/*",
                    f"{API_ARN}/DELETE/rules/{team}/*",
                    f"{API_ARN}/GET/*",
                ],
            }
        ],
    }


Signed = Callable[..., tuple[int, Any]]


def signer(stack: EmbeddedStack, key: dict[str, str]) -> Signed:
    def call(method: str, path: str, body: Any = None, secret: str | None = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        credentials = Credentials(key["AccessKeyId"], secret or key["SecretAccessKey"])
        request = AWSRequest(
            method=method, url=stack.api_url + path, data=data, headers={"content-type": "application/json"}
        )
        SigV4Auth(credentials, "execute-api", "us-east-1").add_auth(request)
        return call_api(stack.api_url, method, path, data, dict(request.headers.items()))

    return call


@pytest.fixture(scope="module")
def teams(stack: EmbeddedStack) -> dict[str, dict[str, str]]:
    iam = stack.client("iam")
    keys = {}
    for team in ("team-a", "team-b"):
        iam.create_user(UserName=team)
        iam.put_user_policy(UserName=team, PolicyName="rules", PolicyDocument=json.dumps(team_policy(team)))
        keys[team] = iam.create_access_key(UserName=team)["AccessKey"]
    return keys


def quay() -> dict[str, Any]:
    return {"upstreamRegistry": "quay", "regions": ["us-east-1"], "creationTemplate": None}


def test_each_team_changes_its_own_prefixes_and_is_refused_the_other_teams(
    stack: EmbeddedStack, teams: dict[str, dict[str, str]], wait_rollout: Callable[..., dict[str, Any]]
) -> None:
    team_a, team_b = signer(stack, teams["team-a"]), signer(stack, teams["team-b"])
    for own, mine, theirs in ((team_a, "team-a", "team-b"), (team_b, "team-b", "team-a")):
        status, started = own("PUT", f"/rules/{mine}/quay", quay())
        assert status == 202, started
        assert wait_rollout(started["rolloutId"])["status"] == "SUCCEEDED"
        for path in (f"/rules/{theirs}/quay", f"/rules/{theirs}%2Fquay"):  # encoded: the same resource
            status, refused = own("PUT", path, quay())
            assert status == 403 and "execute-api:Invoke" in refused["message"], refused
            assert f"user/{mine} " in refused["message"] and f"/PUT/rules/{theirs}/quay" in refused["message"]
        assert own("DELETE", f"/rules/{theirs}/quay")[0] == 403
        assert own("POST", "/rules", quay() | {"ecrRepositoryPrefix": f"{mine}/x"})[0] == 403  # POST names no prefix
        assert own("GET", f"/rules/{theirs}/quay")[0] in (200, 404)  # reads are allowed
    ecr = stack.client("ecr")
    held = {r["ecrRepositoryPrefix"] for r in ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"]}
    assert {"team-a/quay", "team-b/quay"} <= held
    status, started = team_a("DELETE", "/rules/team-a/quay")
    assert status == 202 and wait_rollout(started["rolloutId"])["status"] == "SUCCEEDED"


def test_a_bad_signature_or_an_unknown_key_is_refused_before_anything_runs(
    stack: EmbeddedStack, teams: dict[str, dict[str, str]]
) -> None:
    team_a = signer(stack, teams["team-a"])
    status, refused = team_a("PUT", "/rules/team-a/bad", quay(), secret="not-the-secret")
    assert status == 403 and "signature" in refused["message"]
    stranger = signer(stack, {"AccessKeyId": "AKIAIOSFODNN7EXAMPLE", "SecretAccessKey": "x" * 40})
    status, refused = stranger("PUT", "/rules/team-a/bad", quay())
    assert status == 403 and "security token" in refused["message"]
    assert call_api(stack.api_url, "GET", "/rules/team-a/bad")[0] == 404  # nothing was started


def test_an_explicit_deny_wins_over_an_allow(stack: EmbeddedStack, teams: dict[str, dict[str, str]]) -> None:
    iam = stack.client("iam")
    deny = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": "*"}]}
    iam.put_user_policy(UserName="team-b", PolicyName="frozen", PolicyDocument=json.dumps(deny))
    try:
        assert signer(stack, teams["team-b"])("GET", "/rules")[0] == 403
    finally:
        iam.delete_user_policy(UserName="team-b", PolicyName="frozen")
    assert signer(stack, teams["team-b"])("GET", "/rules")[0] == 200
