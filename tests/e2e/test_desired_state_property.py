"""Property: whatever sequence of requests a prefix gets, after each rollout the regions hold exactly its desired state.

Random sequences of POST (a random subset of regions, a template or none, new or same credentials) and DELETE on one
prefix. After each rollout ends: every desired region holds the rule, the secret with the requested value and the
template asked for (or none), and every other region holds nothing of the prefix (no rule, template, live secret).
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local.stack import EmbeddedStack
from tests.e2e.conftest import call_api, wait_until

pytestmark = pytest.mark.e2e

POOL = ["us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1"]
TEMPLATES = [None, {"imageTagMutability": "IMMUTABLE"}, {"description": "plain"}]
_examples = itertools.count()

post = st.builds(
    lambda regions, template, token: ("POST", sorted(regions), template, token),
    st.sets(st.sampled_from(POOL), min_size=1, max_size=len(POOL)),
    st.sampled_from(range(len(TEMPLATES))),
    st.sampled_from(["token-a", "token-b"]),
)
delete: st.SearchStrategy[tuple[str, list[str], Any, str]] = st.just(("DELETE", [], None, ""))


def run(stack: EmbeddedStack, method: str, path: str, body: Any = None) -> dict[str, Any]:
    status, started = call_api(stack.api_url, method, path, body)
    assert status == 202, started

    def ended() -> dict[str, Any] | None:
        view = call_api(stack.api_url, "GET", f"/rollouts/{started['rolloutId']}")[1]
        return view if view["status"] != "RUNNING" else None

    return wait_until(ended, 120, "the rollout to end")


def holdings(stack: EmbeddedStack, prefix: str, region: str) -> dict[str, Any]:
    ecr = stack.client("ecr", region)
    rule = [
        r
        for r in ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"]
        if r["ecrRepositoryPrefix"] == prefix
    ]
    template = [
        t for t in ecr.describe_repository_creation_templates()["repositoryCreationTemplates"] if t["prefix"] == prefix
    ]
    sm = stack.client("secretsmanager", region)
    live = [
        s
        for s in sm.list_secrets(IncludePlannedDeletion=True)["SecretList"]
        if s["Name"] == f"ecr-pullthroughcache/{prefix}" and "DeletedDate" not in s
    ]
    value = json.loads(sm.get_secret_value(SecretId=live[0]["ARN"])["SecretString"]) if live else None
    return {
        "rule": bool(rule),
        "template": template[0].get("imageTagMutability", "MUTABLE") if template else None,
        "description": template[0].get("description", "") if template else None,
        "secret": value["accessToken"] if value else None,
    }


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(post, post, delete), min_size=1, max_size=4))
def test_after_every_rollout_the_regions_hold_exactly_the_desired_state(
    stack: EmbeddedStack, operations: list[tuple[str, list[str], Any, str]]
) -> None:
    prefix = f"prop-{next(_examples)}"
    desired: dict[str, Any] | None = None
    for method, regions, template_index, token in operations:
        if method == "DELETE":
            if desired is None:
                assert call_api(stack.api_url, "DELETE", f"/rules/{prefix}")[0] == 404
                continue
            assert run(stack, "DELETE", f"/rules/{prefix}")["status"] == "SUCCEEDED"
            desired = None
        else:
            template = TEMPLATES[template_index]
            body = {
                "upstreamRegistry": "docker-hub",
                "ecrRepositoryPrefix": prefix,
                "credentials": {"username": "prop-user", "accessToken": token},
                "regions": regions,
                "creationTemplate": template,
            }
            assert run(stack, "POST", "/rules", body)["status"] == "SUCCEEDED"
            desired = {"regions": regions, "template": template, "token": token}
        for region in POOL:
            held = holdings(stack, prefix, region)
            if desired is None or region not in desired["regions"]:
                assert held == {"rule": False, "template": None, "description": None, "secret": None}, region
                continue
            wanted = desired["template"]
            assert held["rule"] and held["secret"] == desired["token"], (region, held)
            if wanted is None:
                assert held["template"] is None, (region, held)
            else:
                assert held["template"] == wanted.get("imageTagMutability", "MUTABLE"), (region, held)
                assert held["description"] == wanted.get("description", ""), (region, held)
