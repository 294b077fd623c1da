"""``pullthrough rotate``'s request: the rule's whole desired state with new credentials (pullthrough_cli.rotate)."""

from __future__ import annotations

import io

import pytest

from pullthrough_cli.errors import CliError
from pullthrough_cli.rotate import read_token, rotation_request
from tests.support import CANARY

SOURCE = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/_source/docker-hub-AbCdEf"
RULE = {
    "prefix": "docker-hub",
    "rule": {
        "upstreamRegistry": "docker-hub",
        "ecrRepositoryPrefix": "docker-hub",
        "upstreamRegistryUrl": "registry-1.docker.io",
        "upstreamRepositoryPrefix": "ROOT",
        "credentialArn": "not a request field",
    },
    "regions": ["eu-west-1"],
    "accounts": None,
    "organizationalUnits": ["ou-ab12-cdef3456"],
    "retainOnAccountRemoval": True,
    "creationTemplate": None,
    "sourceSecretArn": SOURCE,
    "deployedRegions": ["eu-west-1"],
}


def test_the_request_keeps_the_desired_state_and_changes_only_the_credentials() -> None:
    assert rotation_request(RULE, "octocat", CANARY, "2031-01-01") == {
        "upstreamRegistry": "docker-hub",
        "ecrRepositoryPrefix": "docker-hub",
        "upstreamRegistryUrl": "registry-1.docker.io",
        "upstreamRepositoryPrefix": "ROOT",
        "regions": ["eu-west-1"],
        "organizationalUnits": ["ou-ab12-cdef3456"],
        "retainOnAccountRemoval": True,
        "creationTemplate": None,
        "credentials": {"username": "octocat", "accessToken": CANARY, "expiresAt": "2031-01-01"},
    }


def test_a_rule_with_a_named_secret_is_sent_to_its_secret() -> None:
    named = RULE | {"sourceSecretArn": SOURCE.replace("_source/docker-hub", "team-token")}
    with pytest.raises(CliError, match="put the new token in its secret"):
        rotation_request(named, "octocat", CANARY, None)


def test_the_token_is_the_first_line_and_an_empty_one_is_refused() -> None:
    assert read_token(io.StringIO(f"{CANARY}\nignored\n")) == CANARY
    with pytest.raises(CliError, match="holds no token"):
        read_token(io.StringIO("\n"))


def test_a_rotation_keeps_the_rules_smoke_pull() -> None:
    rule = {
        "prefix": "hub",
        "rule": {"upstreamRegistry": "docker-hub", "ecrRepositoryPrefix": "hub"},
        "regions": ["eu-west-1"],
        "sourceSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/_source/hub-AbC123",
        "smokePull": {"image": "library/alpine:3.20"},
    }
    body = rotation_request(rule, "user", "token", None)
    assert body["smokePull"] == {"image": "library/alpine:3.20"}
