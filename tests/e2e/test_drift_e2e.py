"""Drift on the embedded stack: a rule deleted or a secret changed by hand in one region (of the home account or of a
member account of the seeded Organization) is found by the sweep, shown by the API, and put back by a repair
rollout; ``python -m local.sweep`` runs the same sweep from the command line."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any

import pytest

from local import sweep
from local.settings import AWS_PORT_ENV
from local.stack import EmbeddedStack
from pullthrough.adapters.store import RolloutStore
from tests.e2e.conftest import ApiCall
from tests.support import count_app_calls

pytestmark = pytest.mark.e2e

WaitRollout = Callable[..., dict[str, Any]]
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]
BY_HAND = "eu-west-1"


def rule_in(stack: EmbeddedStack, region: str, prefix: str) -> dict[str, Any] | None:
    rules = stack.client("ecr", region).describe_pull_through_cache_rules()["pullThroughCacheRules"]
    return next((rule for rule in rules if rule["ecrRepositoryPrefix"] == prefix), None)


def rolled_out(api: ApiCall, wait_rollout: WaitRollout, prefix: str) -> None:
    """Given: a docker-hub rule for ``prefix`` in the three regions."""
    body = {
        "upstreamRegistry": "docker-hub",
        "ecrRepositoryPrefix": prefix,
        "credentials": {"username": "drift-user", "accessToken": f"drift-token-{prefix}"},
        "regions": REGIONS,
    }
    status, started = api("POST", "/rules", body)
    assert status == 202, started
    finished = wait_rollout(started["rolloutId"])
    assert finished["status"] == "SUCCEEDED", finished


def sweep_once(stack: EmbeddedStack, mode: str, prefix: str) -> dict[str, Any]:
    summary, errored = stack.invoke("DriftSweepFunction", {"mode": mode, "prefixes": [prefix]})
    assert not errored, summary
    assert isinstance(summary, dict)
    return summary


def report_for(summary: dict[str, Any], prefix: str) -> dict[str, Any]:
    (report,) = [r for r in summary["prefixes"] if r["prefix"] == prefix]
    return report


MISSING_RULE = [
    {"region": BY_HAND, "resource": "rule", "kind": "missing", "fields": [], "message": f"{BY_HAND}: rule missing"}
]


def test_a_rule_deleted_by_hand_is_reported_shown_and_repaired(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: WaitRollout
) -> None:
    prefix = "drift-hand"
    rolled_out(api, wait_rollout, prefix)
    expected_rule = rule_in(stack, BY_HAND, prefix)
    assert expected_rule is not None

    # When: someone deletes the rule in one region with the console/CLI
    stack.client("ecr", BY_HAND).delete_pull_through_cache_rule(ecrRepositoryPrefix=prefix)
    summary = sweep_once(stack, "report", prefix)

    # Then: the sweep reports exactly that, and nothing else; nothing was repaired
    report = report_for(summary, prefix)
    assert report["drift"] == MISSING_RULE
    assert report["inSync"] is False
    assert summary["drifted"] == [prefix]
    assert summary["repairsStarted"] == []
    assert rule_in(stack, BY_HAND, prefix) is None
    # ...and GET /rules/{prefix} shows it
    status, rule = api("GET", f"/rules/{prefix}")
    assert status == 200, rule
    assert rule["drift"]["drift"] == MISSING_RULE
    assert rule["drift"]["checkedAt"] == summary["checkedAt"]

    # When: the sweep runs in repair mode
    repaired = sweep_once(stack, "repair", prefix)

    # Then: it started a rollout that puts the rule back as it was (same secret, same settings); starting it checks
    # the rule's source secret exists (DescribeSecret), which the sweep's role must grant
    assert [d for d in stack.iam_denials if "DriftSweepFunction" in d] == []
    (repair,) = repaired["repairsStarted"]
    assert repair["prefix"] == prefix
    assert wait_rollout(repair["rolloutId"])["status"] == "SUCCEEDED"
    restored = rule_in(stack, BY_HAND, prefix)
    assert restored is not None
    assert {k: v for k, v in restored.items() if k not in ("createdAt", "updatedAt")} == {
        k: v for k, v in expected_rule.items() if k not in ("createdAt", "updatedAt")
    }
    for region in REGIONS:
        assert rule_in(stack, region, prefix) is not None, region
    # ...and the next sweep finds the rule in sync
    again = report_for(sweep_once(stack, "report", prefix), prefix)
    assert (again["inSync"], again["drift"]) == (True, [])


def test_a_secret_changed_by_hand_in_one_region_is_reported_there_and_repaired(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: WaitRollout
) -> None:
    prefix = "drift-secret"
    rolled_out(api, wait_rollout, prefix)
    secrets = stack.client("secretsmanager", BY_HAND)
    name = f"ecr-pullthroughcache/{prefix}"

    # When: someone puts another value into the region's secret
    secrets.put_secret_value(SecretId=name, SecretString=json.dumps({"username": "someone", "accessToken": "by-hand"}))
    report = report_for(sweep_once(stack, "report", prefix), prefix)

    # Then: the sweep reports that region's secret, and nothing else
    assert [entry["message"] for entry in report["drift"]] == [f"{BY_HAND}: secret value changed outside pullthrough"]
    assert [(e["region"], e["resource"], e["kind"]) for e in report["drift"]] == [(BY_HAND, "secret", "changed")]

    # When: the sweep runs in repair mode, Then: its rollout puts the source's value back
    (repair,) = sweep_once(stack, "repair", prefix)["repairsStarted"]
    assert wait_rollout(repair["rolloutId"])["status"] == "SUCCEEDED"
    value = json.loads(secrets.get_secret_value(SecretId=name)["SecretString"])
    assert value == {"username": "drift-user", "accessToken": f"drift-token-{prefix}"}
    # ...and the next sweep finds the rule in sync (the repair recorded the version it left)
    again = report_for(sweep_once(stack, "report", prefix), prefix)
    assert (again["inSync"], again["drift"]) == (True, [])


def test_a_secret_made_again_by_hand_is_reported_and_a_repair_does_not_take_it_over(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: WaitRollout
) -> None:
    prefix = "drift-theirs"
    rolled_out(api, wait_rollout, prefix)
    secrets = stack.client("secretsmanager", BY_HAND)
    name = f"ecr-pullthroughcache/{prefix}"
    # When: someone deletes the region's secret and makes their own under the same name
    secrets.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    theirs = secrets.create_secret(Name=name, SecretString=json.dumps({"username": "someone", "accessToken": "x"}))
    report = report_for(sweep_once(stack, "report", prefix), prefix)
    assert f"{BY_HAND}: secret deleted and created again outside pullthrough" in [e["message"] for e in report["drift"]]

    # Then: a repair does not take it over silently: its rollout rolls back naming the secret, which stays as it was
    (repair,) = sweep_once(stack, "repair", prefix)["repairsStarted"]
    finished = wait_rollout(repair["rolloutId"])
    assert finished["status"] == "ROLLED_BACK", finished
    error = finished["regions"][BY_HAND]["error"]
    assert error["type"] == "NotManaged" and f"secret {theirs['ARN']} not created by pullthrough" in error["message"]
    kept = secrets.get_secret_value(SecretId=name)
    assert (kept["VersionId"], json.loads(kept["SecretString"])) == (
        theirs["VersionId"],
        {"username": "someone", "accessToken": "x"},
    )
    assert "Tags" not in secrets.describe_secret(SecretId=name) or not secrets.describe_secret(SecretId=name)["Tags"]


def test_a_region_left_holding_the_prefix_is_reported_and_emptied_by_repair(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: WaitRollout
) -> None:
    prefix = "drift-left"
    rolled_out(api, wait_rollout, prefix)
    left = REGIONS[2]
    # Given: the desired regions lost one, and nothing has converged the prefix since (the last rollout's record
    # still names the region)
    store = RolloutStore(stack.client("dynamodb"), stack.environment["TABLE_NAME"])
    store.update_rule(prefix, regions=REGIONS[:2])

    # When: the sweep runs, Then: that region is reported with what it holds
    report = report_for(sweep_once(stack, "report", prefix), prefix)
    assert [e["message"] for e in report["drift"]] == [
        f"{left}: holds the prefix but is not a desired region (rule, template, secret)"
    ]

    # When: in repair mode, Then: its rollout removes the prefix from that region and keeps the desired ones
    (repair,) = sweep_once(stack, "repair", prefix)["repairsStarted"]
    assert wait_rollout(repair["rolloutId"])["status"] == "SUCCEEDED"
    assert rule_in(stack, left, prefix) is None
    assert all(rule_in(stack, region, prefix) is not None for region in REGIONS[:2])
    again = report_for(sweep_once(stack, "report", prefix), prefix)
    assert (again["inSync"], again["drift"]) == (True, [])


# -- many accounts -------------------------------------------------------------------------------------------------

ORG_REGIONS = ["eu-west-1", "us-west-2"]


def members_with_role(stack: EmbeddedStack) -> list[str]:
    org = stack.organization
    assert org is not None
    return sorted(a for a in org.members.values() if a != org.account_without_role)


def rule_in_account(stack: EmbeddedStack, account: str, region: str, prefix: str) -> dict[str, Any] | None:
    """The account's rule for the prefix, read as its administrator."""
    rules = stack.client("ecr", region, account=account).describe_pull_through_cache_rules()["pullThroughCacheRules"]
    return next((rule for rule in rules if rule["ecrRepositoryPrefix"] == prefix), None)


def rolled_out_to(api: ApiCall, wait_rollout: WaitRollout, prefix: str, accounts: list[str]) -> None:
    """Given: a docker-hub rule for ``prefix`` in ORG_REGIONS of ``accounts``."""
    body = {
        "upstreamRegistry": "docker-hub",
        "ecrRepositoryPrefix": prefix,
        "credentials": {"username": "drift-user", "accessToken": f"drift-token-{prefix}"},
        "regions": ORG_REGIONS,
        "accounts": accounts,
    }
    status, started = api("POST", "/rules", body)
    assert status == 202, started
    finished = wait_rollout(started["rolloutId"])
    assert finished["status"] == "SUCCEEDED", finished


def test_a_rule_deleted_by_hand_in_one_member_account_region_is_reported_there_and_repaired(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: WaitRollout, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = "drift-org"
    accounts = members_with_role(stack)[:2]
    rolled_out_to(api, wait_rollout, prefix, accounts)
    drifted_account, drifted_region = accounts[1], ORG_REGIONS[1]
    expected_rule = rule_in_account(stack, drifted_account, drifted_region, prefix)
    assert expected_rule is not None

    # When: someone deletes the rule in one region of one member account
    stack.client("ecr", drifted_region, account=drifted_account).delete_pull_through_cache_rule(
        ecrRepositoryPrefix=prefix
    )
    calls = count_app_calls(monkeypatch)
    summary = sweep_once(stack, "report", prefix)

    # Then: the sweep reports exactly that target, naming its account, and nothing else
    finding = {
        "account": drifted_account,
        "region": drifted_region,
        "resource": "rule",
        "kind": "missing",
        "fields": [],
        "message": f"{drifted_account} {drifted_region}: rule missing",
    }
    report = report_for(summary, prefix)
    assert report["targets"] == [finding]
    assert report["drift"] == []  # the home account's findings: the rule does not target it
    assert report["inSync"] is False and summary["drifted"] == [prefix]
    # 2 accounts x 2 regions, and the home region's source secret (its version is compared with the copied one)
    assert summary["checkedTargets"] == 2 * 2 + 1 and summary["unreadableAccounts"] == {}
    # ...reading each (account, region) in at most 3 calls and validating the rule where it is (its health: one call
    # per rule), through the account's execution role
    per_target = calls.per_target(("ecr", "secretsmanager"), stack.account_id)
    source = (stack.account_id, "us-east-1")
    assert set(per_target) == {(a, r) for a in accounts for r in ORG_REGIONS} | {source}, per_target
    assert max(per_target.values()) <= 3 + 1, per_target
    assert all(
        acting in accounts
        for (service, _, _), acting in zip(calls.calls, calls.acting, strict=True)
        if service == "ecr"
    )
    # ...and GET /rules/{prefix} shows it
    status, rule = api("GET", f"/rules/{prefix}")
    assert status == 200, rule
    assert rule["drift"]["targets"] == [finding]

    # When: the sweep runs in repair mode, Then: its rollout puts the rule back in that account and region
    (repair,) = sweep_once(stack, "repair", prefix)["repairsStarted"]
    repaired = wait_rollout(repair["rolloutId"])
    assert repaired["status"] == "SUCCEEDED", repaired
    assert {(t["account"], t["region"]) for t in repaired["targets"]} == {(a, r) for a in accounts for r in ORG_REGIONS}
    restored = rule_in_account(stack, drifted_account, drifted_region, prefix)
    assert restored is not None
    assert {k: v for k, v in restored.items() if k not in ("createdAt", "updatedAt")} == {
        k: v for k, v in expected_rule.items() if k not in ("createdAt", "updatedAt")
    }
    again = report_for(sweep_once(stack, "report", prefix), prefix)
    assert (again["inSync"], again["targets"]) == (True, [])
    assert [d for d in stack.iam_denials if "DriftSweepFunction" in d] == []


def test_an_account_whose_execution_role_cannot_be_assumed_is_reported_unreadable_not_a_failed_sweep(
    stack: EmbeddedStack, api: ApiCall, wait_rollout: WaitRollout
) -> None:
    prefix = "drift-norole"
    good = members_with_role(stack)[0]
    assert stack.organization is not None
    bad = stack.organization.account_without_role
    rolled_out_to(api, wait_rollout, prefix, [good])
    # Given: the rule's desired accounts include one without the execution role (say its role was deleted since)
    store = RolloutStore(stack.client("dynamodb"), stack.environment["TABLE_NAME"])
    store.update_rule(prefix, targetAccounts=[good, bad])

    summary = sweep_once(stack, "report", prefix)

    error = summary["unreadableAccounts"][bad]
    assert error.startswith(f"ExecutionRoleUnavailable: PullthroughExecutionRole cannot be assumed in {bad}")
    report = report_for(summary, prefix)
    assert report["targets"] == [] and report["inSync"] is False
    assert report["uncheckedTargets"] == [{"account": bad, "region": r, "error": error} for r in ORG_REGIONS]
    # the good account's regions were read all the same (and the home region's source secret)
    assert summary["checkedTargets"] == len(ORG_REGIONS) + 1


# -- python -m local.sweep -----------------------------------------------------------------------------------------


def test_the_sweep_cli_prints_the_drift_of_a_running_stack(
    stack: EmbeddedStack,
    api: ApiCall,
    wait_rollout: WaitRollout,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prefix = "drift-cli"
    rolled_out(api, wait_rollout, prefix)
    stack.client("ecr", BY_HAND).delete_pull_through_cache_rule(ecrRepositoryPrefix=prefix)
    monkeypatch.setenv(AWS_PORT_ENV, str(stack.aws_port))  # the default endpoint: 127.0.0.1:$PULLTHROUGH_AWS_PORT

    # When: the CLI runs, as text and as JSON
    code = sweep.main(["--mode", "report", "--prefix", prefix])
    text = capsys.readouterr()
    json_code = sweep.main(["--prefix", prefix, "--json", "--fail-on-drift"])
    # The function runs in this process here (not in make local's): its log and metric lines (one JSON document a
    # line) share the captured stdout; the CLI's own JSON is indented, starting with a line of its own
    printed = capsys.readouterr().out
    as_json = json.loads(printed[printed.index("{\n") :])

    # Then
    assert code == sweep.EXIT_OK, text.err
    assert "1 of 1 rule(s) drifted" in text.out
    assert f"{prefix}" in text.out and "DRIFT" in text.out
    assert f"{BY_HAND}" in text.out and "rule missing" in text.out
    assert json_code == sweep.EXIT_DRIFT
    assert report_for(as_json, prefix)["drift"] == MISSING_RULE
    assert rule_in(stack, BY_HAND, prefix) is None  # report mode changes nothing


def test_the_sweep_cli_explains_what_it_cannot_do(stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]) -> None:
    # An unknown prefix: the function's own refusal
    assert sweep.main(["--endpoint-url", stack.endpoint_url, "--prefix", "no-such-rule"]) == sweep.EXIT_FAILED
    assert "InvalidRequest: no desired rule for no-such-rule" in capsys.readouterr().err

    # Nothing listening: says to start `make local`
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    assert sweep.main(["--endpoint-url", f"http://127.0.0.1:{free_port}"]) == sweep.EXIT_FAILED
    assert "make local" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--mode", "fix"], "argument --mode: invalid choice: 'fix'"),
        (["--prefix"], "argument --prefix: expected at least one argument"),
        (["--frobnicate"], "unrecognized arguments: --frobnicate"),
    ],
)
def test_the_sweep_cli_rejects_bad_flags_with_argparse_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        sweep.main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.startswith("usage: python -m local.sweep")
