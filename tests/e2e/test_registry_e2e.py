"""A real client pulls through the embedded stack: skopeo against the stack's ECR registry endpoint, after a rollout
of the sample docker-hub rule, and the faults endpoint revokes the upstream credential over HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from local.emulator import faults_client
from local.stack import EmbeddedStack
from tests.e2e.conftest import ROLLOUT_TIMEOUT, call_api, wait_until
from tests.registry_support import copy_to_dir, inspect, password
from tests.support import ROOT

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def rolled_out(stack: EmbeddedStack) -> dict[str, Any]:
    """The sample docker-hub rule (events/rule_request_docker_hub.json) rolled out to the home region and one more."""
    body = json.loads((ROOT / "events" / "rule_request_docker_hub.json").read_text())
    body["regions"] = [stack.region, "eu-west-1"]
    status, started = call_api(stack.api_url, "POST", "/rules", body)
    assert status == 202, started

    def ended() -> dict[str, Any] | None:
        status, view = call_api(stack.api_url, "GET", f"/rollouts/{started['rolloutId']}")
        assert status == 200, view
        return dict(view) if view["status"] != "RUNNING" else None

    finished = wait_until(ended, ROLLOUT_TIMEOUT, "the docker-hub rollout")
    assert finished["status"] == "SUCCEEDED", finished
    return finished


def test_skopeo_copies_an_image_through_the_stacks_registry_endpoint(
    stack: EmbeddedStack, rolled_out: dict[str, Any], tmp_path: Path
) -> None:
    assert stack.registries is not None
    address = stack.registries.url.removeprefix("http://")
    ecr = stack.client("ecr")

    copied = copy_to_dir(address, "docker-hub/library/alpine:3.20", password(ecr), str(tmp_path / "alpine"))

    assert copied.ok, copied.stderr
    upstream = stack.registries.upstreams.registries["docker-hub"].digest("library/alpine", "3.20")
    images = ecr.describe_images(repositoryName="docker-hub/library/alpine")["imageDetails"]
    assert [(i["imageTags"], i["imageDigest"]) for i in images if i.get("imageTags")] == [(["3.20"], upstream)]
    assert len(images) == 3  # the index and the two platform manifests it names (untagged)


def test_a_credential_revoked_through_the_faults_endpoint_fails_the_next_first_pull(
    stack: EmbeddedStack, rolled_out: dict[str, Any]
) -> None:
    assert stack.registries is not None
    address = stack.registries.url.removeprefix("http://")
    faults_client.upstream_fault(stack.endpoint_url, "docker-hub", "revoke", username="demo-user")

    refused = inspect(address, "docker-hub/library/busybox:1.36", password(stack.client("ecr")))

    assert not refused.ok
    assert "incorrect username or password" in refused.stderr
    assert "demo-placeholder-token" not in refused.stderr
    assert faults_client.pending(stack.endpoint_url)["upstreams"]["revoked"] == [
        {"upstream": "docker-hub", "username": "demo-user"}
    ]
