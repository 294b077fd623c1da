"""The smoke pull after each rollout (issue 21): every target pulls the rule's smokePull image through its own
cache after ApplyTemplate, against the stack's registry endpoint and local upstreams; a refused pull fails the
target with the registry's answer and the rollout is rolled back."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result

from local.emulator import faults_client
from local.stack import EmbeddedStack
from pullthrough_cli.main import cli
from tests.e2e.conftest import ApiCall
from tests.support import ROOT

pytestmark = pytest.mark.e2e

SAMPLE = json.loads((ROOT / "events" / "rule_request_docker_hub.json").read_text())


def _request(prefix: str, regions: list[str], image: str) -> dict[str, Any]:
    return SAMPLE | {"ecrRepositoryPrefix": prefix, "regions": regions, "smokePull": {"image": image}}


@pytest.fixture
def upstream_faults(stack: EmbeddedStack) -> Iterator[None]:
    yield
    faults_client.clear(stack.endpoint_url)


def _roll_out(api: ApiCall, wait_rollout: Callable[..., dict[str, Any]], body: dict[str, Any]) -> dict[str, Any]:
    status, started = api("POST", "/rules", body)
    assert status == 202, started
    return wait_rollout(started["rolloutId"])


def test_each_target_records_the_digest_it_pulled_through_its_cache(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: Callable[..., dict[str, Any]]
) -> None:
    assert stack.registries is not None
    regions = [stack.region, "eu-west-1"]

    done = _roll_out(api, wait_rollout, _request("smoke-ok", regions, "library/alpine:3.20"))

    upstream = stack.registries.upstreams.registries["docker-hub"].digest("library/alpine", "3.20")
    assert done["status"] == "SUCCEEDED", done
    assert {r: e["changes"]["pull"] for r, e in done["regions"].items()} == dict.fromkeys(regions, upstream)
    assert "pullDigests" not in done  # one digest everywhere
    for region in regions:  # the pull went through the target's own cache: its repository holds the image
        images = stack.client("ecr", region).describe_images(repositoryName="smoke-ok/library/alpine")
        assert upstream in [i["imageDigest"] for i in images["imageDetails"]]
    status, rule = api("GET", "/rules/smoke-ok")
    assert status == 200 and rule["smokePull"] == {"image": "library/alpine:3.20"}, rule
    assert [t["pullUriPrefix"] for t in rule["deployedTargets"]] == [
        f"{stack.account_id}.dkr.ecr.{region}.amazonaws.com/smoke-ok/" for region in sorted(regions)
    ]


def test_a_rule_without_smoke_pull_and_a_plan_do_not_pull(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: Callable[..., dict[str, Any]]
) -> None:
    plain = {k: v for k, v in _request("smoke-none", [stack.region], "x:y").items() if k != "smokePull"}
    done = _roll_out(api, wait_rollout, plain)
    status, planned = api("POST", "/rules?dryRun=true", _request("smoke-plan", [stack.region], "library/alpine:3.20"))
    assert status == 202, planned
    planned = wait_rollout(planned["rolloutId"])

    assert done["status"] == "SUCCEEDED" and "pull" not in done["regions"][stack.region]["changes"]
    assert planned["status"] == "PLANNED" and "pull" not in planned["regions"][stack.region]["changes"]
    repositories = stack.client("ecr").describe_repositories()["repositories"]
    assert not [r for r in repositories if r["repositoryName"].startswith(("smoke-none/", "smoke-plan/"))]


def test_a_revoked_upstream_credential_fails_the_smoke_pull_and_rolls_the_rollout_back(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: Callable[..., dict[str, Any]], upstream_faults: None
) -> None:
    faults_client.upstream_fault(stack.endpoint_url, "docker-hub", "revoke", username="demo-user")

    done = _roll_out(api, wait_rollout, _request("smoke-revoked", [stack.region], "library/busybox:1.36"))

    assert done["status"] == "ROLLED_BACK", done
    region = done["regions"][stack.region]
    assert region["step"] == "SmokePull"
    assert region["error"]["type"] == "SmokePullFailed"
    assert "incorrect username or password" in region["error"]["message"]
    assert "demo-placeholder-token" not in json.dumps(done)
    rules = stack.client("ecr").describe_pull_through_cache_rules()["pullThroughCacheRules"]
    assert "smoke-revoked" not in [r["ecrRepositoryPrefix"] for r in rules]  # put back: there was none


def test_a_template_with_resource_tags_and_no_custom_role_fails_the_smoke_pull_with_ecrs_reason(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: Callable[..., dict[str, Any]]
) -> None:
    # Someone else's template for a longer prefix: the first pull through the rule creates its repository from it.
    stack.client("ecr").create_repository_creation_template(
        prefix="smoke-tags/library",
        appliedFor=["PULL_THROUGH_CACHE"],
        resourceTags=[{"Key": "team", "Value": "platform"}],
    )

    done = _roll_out(api, wait_rollout, _request("smoke-tags", [stack.region], "library/alpine:3.20"))

    assert done["status"] == "ROLLED_BACK", done
    region = done["regions"][stack.region]
    assert (region["step"], region["error"]["type"]) == ("SmokePull", "SmokePullFailed")
    assert "403 DENIED" in region["error"]["message"]
    assert "customRoleArn" in region["error"]["message"]


def test_a_member_account_pulls_through_its_own_cache_with_the_execution_role(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: Callable[..., dict[str, Any]]
) -> None:
    assert stack.organization is not None and stack.registries is not None
    member = stack.organization.members["workload-a"]
    body = _request("smoke-member", [stack.region], "library/alpine:latest") | {"accounts": [member]}

    done = _roll_out(api, wait_rollout, body)

    upstream = stack.registries.upstreams.registries["docker-hub"].digest("library/alpine", "latest")
    assert done["status"] == "SUCCEEDED", done
    assert [(t["account"], t["changes"]["pull"]) for t in done["targets"]] == [(member, upstream)]
    images = stack.client("ecr", account=member).describe_images(repositoryName="smoke-member/library/alpine")
    assert upstream in [i["imageDigest"] for i in images["imageDetails"]]


def test_pull_test_pulls_now_in_every_target_and_prints_each_digest_or_failure(
    stack: EmbeddedStack,
    api: ApiCall,
    wait_rollout: Callable[..., dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert stack.registries is not None
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")  # the functions run in this process
    regions = [stack.region, "eu-west-1"]
    plain = {k: v for k, v in _request("smoke-cli", regions, "x:y").items() if k != "smokePull"}
    assert _roll_out(api, wait_rollout, plain)["status"] == "SUCCEEDED"

    def pull_test(*args: str) -> Result:
        return CliRunner().invoke(cli, ["--api-url", stack.api_url, "pull-test", *args], catch_exceptions=False)

    pulled = pull_test("smoke-cli", "library/busybox:1.36", "--json")
    missing = pull_test("smoke-cli", "library/busybox:no-such-tag")
    unknown = pull_test("smoke-nowhere", "library/busybox:1.36")

    digest = stack.registries.upstreams.registries["docker-hub"].digest("library/busybox", "1.36")
    assert pulled.exit_code == 0, pulled.output
    assert [(t["region"], t["pull"], t["error"]) for t in json.loads(pulled.output)["targets"]] == [
        (region, digest, None) for region in sorted(regions)
    ]
    assert missing.exit_code == 1, missing.output
    assert missing.output.count("SmokePullFailed") == 2 and "404" in missing.output
    assert unknown.exit_code == 3 and "smoke-nowhere" in unknown.output
