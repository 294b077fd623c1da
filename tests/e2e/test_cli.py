"""The ``pullthrough`` CLI against the embedded stack (unsigned: the local API is on loopback).

Run in process through click's CliRunner, whose output is not a terminal: progress shows as one line per region
change, which is what a CI log of ``pullthrough apply --wait`` shows too.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from local import faults
from local.stack import EmbeddedStack
from pullthrough_cli.main import cli
from tests.support import ROOT

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _no_metric_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """The functions run in this process: their metric lines (EMF on stdout) would mix with the output read here."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")


DOCKER_HUB_SAMPLE = ROOT / "events" / "rule_request_docker_hub.json"


def run(stack: EmbeddedStack, *args: str, env: dict[str, str] | None = None) -> Result:
    """``pullthrough --api-url <the stack's API> ARGS`` (quick polls), with its exit code and output."""
    return CliRunner().invoke(cli, ["--api-url", stack.api_url, *args], env=env, catch_exceptions=False)


def polled(stack: EmbeddedStack, *args: str) -> Result:
    return run(stack, *args, "--interval", "0.2")


def rule_file(tmp_path: Path, body: dict[str, Any]) -> str:
    path = tmp_path / "rule.json"
    path.write_text(json.dumps(body))
    return str(path)


def region_lines(output: str, region: str) -> list[str]:
    return [line.split()[1] for line in output.splitlines() if line.startswith(f"  {region} ")]


def test_apply_wait_of_the_sample_shows_each_region_progressing_and_exits_0(stack: EmbeddedStack) -> None:
    result = polled(stack, "apply", "-f", str(DOCKER_HUB_SAMPLE), "--wait")
    assert result.exit_code == 0, result.output
    for region in json.loads(DOCKER_HUB_SAMPLE.read_text())["regions"]:
        # Each region is shown as it starts, then again when it is done, in that order.
        assert region_lines(result.output, region) == ["PENDING", "SUCCEEDED"], result.output
    assert "secret created, rule created, template created" in result.output
    assert result.output.rstrip().splitlines()[-1].split()[2] == "SUCCEEDED"
    rules = stack.client("ecr", "sa-east-1").describe_pull_through_cache_rules()["pullThroughCacheRules"]
    assert [rule["ecrRepositoryPrefix"] for rule in rules] == ["docker-hub"]


def test_a_rollout_that_rolls_back_exits_1_and_says_why(
    stack: EmbeddedStack, step_faults: faults.StepFaults, tmp_path: Path
) -> None:
    body = {"upstreamRegistry": "quay", "ecrRepositoryPrefix": "cli-rollback", "regions": ["us-east-1", "eu-west-1"]}
    step_faults.inject("ValidateRuleFunction", "eu-west-1", error_type="RuleValidationFailed", prefix="cli-rollback")
    result = polled(stack, "apply", "-f", rule_file(tmp_path, body), "--wait")
    assert result.exit_code == 1, result.output
    assert "ROLLED_BACK" in result.output and "RuleValidationFailed" in result.output
    rollout_id = result.output.rstrip().splitlines()[-1].split()[1]
    again = run(stack, "--json", "status", rollout_id, "--wait")  # already ended: the same verdict
    assert again.exit_code == 1 and json.loads(again.output)["status"] == "ROLLED_BACK"
    rules = stack.client("ecr", "us-east-1").describe_pull_through_cache_rules()["pullThroughCacheRules"]
    assert "cli-rollback" not in [rule["ecrRepositoryPrefix"] for rule in rules]


def test_plan_shows_each_regions_changes_and_changes_nothing(stack: EmbeddedStack, tmp_path: Path) -> None:
    body = {"upstreamRegistry": "k8s", "ecrRepositoryPrefix": "cli-plan", "regions": ["eu-central-1"]}
    result = polled(stack, "plan", "-f", rule_file(tmp_path, body))
    assert result.exit_code == 0, result.output
    [row] = [line for line in result.output.splitlines() if line.startswith("eu-central-1 ")]
    assert [cell.strip() for cell in row.split("│")[:2]] == ["eu-central-1", "PLANNED"]  # each target, as the plan
    assert "would create" in result.output and "SUCCEEDED" not in result.output  # in the conditional
    rules = stack.client("ecr", "eu-central-1").describe_pull_through_cache_rules()["pullThroughCacheRules"]
    assert "cli-plan" not in [rule["ecrRepositoryPrefix"] for rule in rules]


def test_json_output_is_the_apis_and_status_rules_and_delete_follow_a_rule(
    stack: EmbeddedStack, tmp_path: Path
) -> None:
    body = {"upstreamRegistry": "ecr-public", "ecrRepositoryPrefix": "cli/json", "regions": ["us-west-2"]}
    applied = polled(stack, "--json", "apply", "-f", rule_file(tmp_path, body), "--wait")
    assert applied.exit_code == 0, applied.output
    final = json.loads(applied.output)
    assert final["status"] == "SUCCEEDED" and final["regions"]["us-west-2"]["changes"]["rule"] == "created"

    status = run(stack, "--json", "status", final["rolloutId"])
    assert status.exit_code == 0 and json.loads(status.output)["status"] == "SUCCEEDED"
    listed = json.loads(run(stack, "--json", "rules").output)["rules"]
    assert "cli/json" in [rule["prefix"] for rule in listed]
    one = run(stack, "rules", "cli/json")  # a prefix with a slash
    assert one.exit_code == 0 and "ecr-public (public.ecr.aws)" in one.output

    planned = polled(stack, "delete", "cli/json", "--plan")
    assert planned.exit_code == 0 and "would delete" in planned.output and "PLANNED" in planned.output
    deleted = polled(stack, "delete", "cli/json", "--wait")
    assert deleted.exit_code == 0, deleted.output
    gone = run(stack, "rules", "cli/json")
    assert gone.exit_code == 3 and "HTTP 404" in gone.stderr


def test_a_refused_request_exits_3_naming_the_field(stack: EmbeddedStack, tmp_path: Path) -> None:
    result = run(stack, "apply", "-f", rule_file(tmp_path, {"upstreamRegistry": "quay", "regions": ["nowhere-1"]}))
    assert result.exit_code == 3
    assert "HTTP 422" in result.stderr and result.stderr.count("regions: ") == 1  # named, once


def test_a_busy_prefix_exits_3_and_names_the_running_rollout(
    stack: EmbeddedStack, step_faults: faults.StepFaults, tmp_path: Path
) -> None:
    path = rule_file(
        tmp_path, {"upstreamRegistry": "quay", "ecrRepositoryPrefix": "cli-busy", "regions": ["us-east-1"]}
    )
    hold = step_faults.hold("StoreSecretFunction", prefix="cli-busy")
    first = json.loads(run(stack, "--json", "apply", "-f", path).output)
    try:
        again = run(stack, "apply", "-f", path, "--idempotency-key", "other")
        assert again.exit_code == 3 and "HTTP 409" in again.stderr
        assert f"pullthrough status {first['rolloutId']} --wait" in again.stderr
    finally:
        hold.release()
    assert polled(stack, "status", first["rolloutId"], "--wait").exit_code == 0


def test_the_endpoint_comes_from_the_environment_or_a_stacks_api_url_output(stack: EmbeddedStack) -> None:
    from_env = CliRunner().invoke(cli, ["rules"], env={"PULLTHROUGH_API_URL": stack.api_url + "/v1/"})
    assert from_env.exit_code == 0, from_env.output

    stack.client("cloudformation").create_stack(
        StackName="pullthrough-cli-test",
        TemplateBody=json.dumps(
            {
                "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
                "Outputs": {"ApiUrl": {"Value": stack.api_url + "/v1/"}},
            }
        ),
    )
    from_stack = CliRunner().invoke(cli, ["--stack", "pullthrough-cli-test", "rules"], env={"PULLTHROUGH_API_URL": ""})
    assert from_stack.exit_code == 0, from_stack.output
    missing = CliRunner().invoke(cli, ["--stack", "no-such-stack", "rules"], env={"PULLTHROUGH_API_URL": ""})
    assert missing.exit_code == 3 and "no-such-stack" in missing.stderr


def test_no_endpoint_or_a_bad_rule_file_is_a_usage_error(stack: EmbeddedStack, tmp_path: Path) -> None:
    nowhere = CliRunner().invoke(cli, ["rules"], env={"PULLTHROUGH_API_URL": ""})
    assert nowhere.exit_code == 2 and "--api-url" in nowhere.stderr and "PULLTHROUGH_API_URL" in nowhere.stderr
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    bad = run(stack, "apply", "-f", str(broken))
    assert bad.exit_code == 2 and "broken.json is not JSON" in bad.stderr


def secret_value(stack: EmbeddedStack, region: str, prefix: str) -> dict[str, str]:
    got = stack.client("secretsmanager", region).get_secret_value(SecretId=f"ecr-pullthroughcache/{prefix}")
    return dict(json.loads(got["SecretString"]))


def pending_deletion(stack: EmbeddedStack, region: str, name: str) -> bool:
    return "DeletedDate" in stack.client("secretsmanager", region).describe_secret(SecretId=name)


def test_rotating_an_inline_credential_is_posting_again_and_delete_leaves_only_secrets_pending_deletion(
    stack: EmbeddedStack, tmp_path: Path
) -> None:
    """docs/operating.md, "Day 2": rotate (inline credentials), uninstall (what DELETE leaves)."""
    regions = ["us-east-1", "eu-west-1"]
    body = {"upstreamRegistry": "docker-hub", "ecrRepositoryPrefix": "cli-rotate", "regions": regions}
    old = {"username": "u", "accessToken": "old-token"}
    assert polled(stack, "apply", "-f", rule_file(tmp_path, body | {"credentials": old}), "--wait").exit_code == 0
    new = {"username": "u", "accessToken": "new-token"}
    rotated = polled(stack, "apply", "-f", rule_file(tmp_path, body | {"credentials": new}), "--wait")
    assert rotated.exit_code == 0 and "secret updated, rule unchanged" in rotated.output, rotated.output
    assert all(secret_value(stack, region, "cli-rotate") == new for region in regions)

    assert polled(stack, "delete", "cli-rotate", "--wait").exit_code == 0
    for region in regions:
        rules = stack.client("ecr", region).describe_pull_through_cache_rules()["pullThroughCacheRules"]
        assert "cli-rotate" not in [rule["ecrRepositoryPrefix"] for rule in rules]
        assert pending_deletion(stack, region, "ecr-pullthroughcache/cli-rotate")
    assert pending_deletion(stack, "us-east-1", "ecr-pullthroughcache/_source/cli-rotate")


def test_rotating_a_named_secret_is_a_new_value_in_it_then_posting_again(stack: EmbeddedStack, tmp_path: Path) -> None:
    """docs/operating.md, "Day 2": rotate (credentialSecretArn)."""
    home = stack.client("secretsmanager")
    arn = home.create_secret(
        Name="ecr-pullthroughcache/team/ghcr", SecretString=json.dumps({"username": "u", "accessToken": "one"})
    )["ARN"]
    body = {
        "upstreamRegistry": "github-container-registry",
        "ecrRepositoryPrefix": "cli-named",
        "credentialSecretArn": arn,
        "regions": ["eu-west-1"],
    }
    path = rule_file(tmp_path, body)
    assert polled(stack, "apply", "-f", path, "--wait").exit_code == 0
    home.put_secret_value(SecretId=arn, SecretString=json.dumps({"username": "u", "accessToken": "two"}))
    assert polled(stack, "apply", "-f", path, "--wait").exit_code == 0
    assert secret_value(stack, "eu-west-1", "cli-named")["accessToken"] == "two"


def test_the_emulators_fault_endpoint_makes_a_rollout_roll_back(stack: EmbeddedStack, tmp_path: Path) -> None:
    """docs/local.md, "Try a failure": a curl injects a ValidatePullThroughCacheRule failure; the apply rolls back."""
    fault = {"kind": "validation", "prefix": "cli-fault", "region": "eu-west-1", "failure": "upstream said no"}
    subprocess.run(
        [
            "curl", "-sf", "-X", "POST", f"{stack.endpoint_url}/_pullthrough/faults",
            "-H", "Authorization: AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/ecr/aws4_request",
            "-d", json.dumps(fault),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    body = {"upstreamRegistry": "quay", "ecrRepositoryPrefix": "cli-fault", "regions": ["us-east-1", "eu-west-1"]}
    result = polled(stack, "apply", "-f", rule_file(tmp_path, body), "--wait")
    assert result.exit_code == 1 and "ROLLED_BACK" in result.output and "upstream said no" in result.output
