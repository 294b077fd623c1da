"""``pullthrough rotate`` against the embedded stack: a new token from a file or standard input (never an argument)
reaches every target in one rollout; a rule with a named secret is sent to its secret instead."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from local.stack import EmbeddedStack
from pullthrough_cli.main import cli
from tests.e2e.conftest import ApiCall
from tests.e2e.test_cli import _no_metric_lines  # noqa: F401 - the fixture, for this module too
from tests.e2e.test_rotation_e2e import regional_values, rolled_out
from tests.support import CANARY

pytestmark = pytest.mark.e2e

WaitRollout = Callable[..., dict[str, Any]]


def test_rotate_reads_the_token_from_a_file_and_rolls_it_out_everywhere(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: WaitRollout, tmp_path: Path
) -> None:
    prefix = "cli-rotate"
    rolled_out(api, wait_rollout, prefix)
    token = tmp_path / "token"
    token.write_text(f"{CANARY}\n")

    args = ["rotate", prefix, "--username", "new-user", "--token-file", str(token), "--expires-at", "2031-01-01"]
    result = CliRunner().invoke(
        cli, ["--api-url", stack.api_url, *args, "--wait", "--interval", "0.2"], catch_exceptions=False
    )

    assert result.exit_code == 0, result.output
    assert CANARY not in result.output
    expected = json.dumps({"username": "new-user", "accessToken": CANARY})
    assert set(regional_values(stack, prefix).values()) == {expected}
    _, rule = api("GET", f"/rules/{prefix}")
    assert rule["credentialExpiresAt"] == "2031-01-01T00:00:00Z"
    assert (rule["regions"], rule["lastRolloutStatus"]) == (["us-east-1", "eu-west-1", "ap-southeast-2"], "SUCCEEDED")


def test_rotate_reads_standard_input_and_refuses_a_rule_with_a_named_secret(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: WaitRollout
) -> None:
    named = stack.client("secretsmanager").create_secret(
        Name="ecr-pullthroughcache/team-token", SecretString=json.dumps({"username": "u", "accessToken": "t"})
    )["ARN"]
    body = {"upstreamRegistry": "docker-hub", "ecrRepositoryPrefix": "cli-named", "credentialSecretArn": named}
    status, started = api("POST", "/rules", body | {"regions": ["eu-west-1"]})
    assert status == 202 and wait_rollout(started["rolloutId"])["status"] == "SUCCEEDED"

    result = CliRunner().invoke(
        cli,
        ["--api-url", stack.api_url, "rotate", "cli-named", "--username", "u", "--token-file", "-"],
        input=f"{CANARY}\n",
    )

    assert result.exit_code == 2 and "put the new token in its secret" in result.output, result.output
    assert CANARY not in result.output
