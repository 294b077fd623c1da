"""The SmokePull step against the emulator's registry endpoint in process: the digest of the manifest pulled through
the rule, the registry's answer when the pull is refused, and never the registry token in a result, exception or
log."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from local.emulator import registry
from local.emulator.registry.upstream import SAMPLE_CREDENTIALS
from pullthrough.adapters.registry import RegistryEndpoint
from pullthrough.exceptions import InvalidRequest, SmokePullFailed
from pullthrough.steps.pull import cached_repository, smoke_pull
from pullthrough.tasks import RegionTask
from tests.registry_support import served_registries
from tests.support import CANARY, HOME

RULE = {
    "ecrRepositoryPrefix": "docker-hub",
    "upstreamRegistry": "docker-hub",
    "upstreamRegistryUrl": "registry-1.docker.io",
}


@pytest.fixture
def registries() -> Iterator[registry.Registries]:
    """moto in process, with the endpoint and the upstreams served on free loopback ports."""
    yield from served_registries()


def _rule(credentials: tuple[str, str]) -> None:
    arn = boto3.client("secretsmanager", region_name=HOME).create_secret(
        Name="ecr-pullthroughcache/docker-hub",
        SecretString=json.dumps({"username": credentials[0], "accessToken": credentials[1]}),
    )["ARN"]
    boto3.client("ecr", region_name=HOME).create_pull_through_cache_rule(
        ecrRepositoryPrefix="docker-hub",
        upstreamRegistry="docker-hub",
        upstreamRegistryUrl="registry-1.docker.io",
        credentialArn=arn,
    )


def _task(image: str | None, mode: str = "APPLY") -> RegionTask:
    event: dict[str, Any] = {"rolloutId": "r-1", "region": HOME, "rule": RULE, "mode": mode}
    if image is not None:
        event["smokePull"] = {"image": image}
    return RegionTask.parse(event)


def _endpoint(registries: registry.Registries) -> RegistryEndpoint:
    return RegistryEndpoint(boto3.client("ecr", region_name=HOME), endpoint=registries.url)


def test_the_step_pulls_through_the_rule_and_returns_the_upstreams_digest(registries: registry.Registries) -> None:
    _rule(SAMPLE_CREDENTIALS[0])

    pulled = smoke_pull(_task("library/alpine:3.20"), _endpoint(registries))

    assert pulled.pull == registries.upstreams.registries["docker-hub"].digest("library/alpine", "3.20")
    images = boto3.client("ecr", region_name=HOME).describe_images(repositoryName="docker-hub/library/alpine")
    assert pulled.pull in [i["imageDigest"] for i in images["imageDetails"]]


def test_no_image_or_a_plan_pulls_nothing(registries: registry.Registries) -> None:
    _rule(SAMPLE_CREDENTIALS[0])

    assert smoke_pull(_task(None), _endpoint(registries)).pull == "skipped"
    assert smoke_pull(_task("library/alpine:3.20", mode="PLAN"), _endpoint(registries)).pull == "skipped"
    assert boto3.client("ecr", region_name=HOME).describe_repositories()["repositories"] == []


def test_a_refused_pull_fails_with_the_registrys_answer_and_no_token_anywhere(
    registries: registry.Registries, caplog: pytest.LogCaptureFixture
) -> None:
    _rule(("demo-user", CANARY))  # the upstream refuses this credential
    caplog.set_level(logging.DEBUG, logger="pullthrough")
    ecr = boto3.client("ecr", region_name=HOME)

    with pytest.raises(SmokePullFailed) as failed:
        smoke_pull(_task("library/alpine:3.20"), RegistryEndpoint(ecr, endpoint=registries.url))

    assert "401" in failed.value.message and "incorrect username or password" in failed.value.message
    shown = failed.value.message + repr(failed.value.__cause__) + repr(failed.value.__context__) + caplog.text
    assert CANARY not in shown
    assert "Basic " not in shown and "AWS:" not in shown  # the registry login never shows


def test_a_missing_tag_is_the_registrys_not_found(registries: registry.Registries) -> None:
    _rule(SAMPLE_CREDENTIALS[0])

    with pytest.raises(SmokePullFailed, match="404"):
        smoke_pull(_task("library/alpine:no-such-tag"), _endpoint(registries))


@pytest.mark.parametrize(
    "image", ["alpine", "Library/alpine:3.20", "library/alpine:", "library//alpine:1", "a:" + "t" * 129]
)
def test_a_task_with_a_malformed_image_is_refused_naming_the_field(image: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        _task(image)

    assert refused.value.field == "smokePull.image"


def test_a_root_rule_pulls_the_upstream_repository_by_its_own_name() -> None:
    assert cached_repository("ROOT", "library/alpine") == "library/alpine"
    assert cached_repository("team/hub", "library/alpine") == "team/hub/library/alpine"
