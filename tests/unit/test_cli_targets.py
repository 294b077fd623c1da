"""The CLI shows a rollout across accounts by account; a rollout in one account looks as it always did."""

from __future__ import annotations

import io
from typing import Any

import pytest
from click.testing import CliRunner
from rich.console import Console

from pullthrough_cli import main
from pullthrough_cli.client import Api
from pullthrough_cli.render import Progress, rollout_table, rule_table, targets_summary

HOME, MEMBER = "123456789012", "111122223333"
DONE = {"status": "SUCCEEDED", "step": None, "error": None, "changes": {"secret": "created", "rule": "created"}}
FAILED = {
    "status": "ROLLED_BACK",
    "step": "ValidateRule",
    "error": {"type": "RuleValidationFailed", "message": "upstream authentication failed"},
    "changes": {},
}


def view(targets: list[dict[str, Any]] | None) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "rolloutId": "r-1",
        "status": "ROLLED_BACK",
        "prefix": "quay",
        "operation": "APPLY",
        "mode": "APPLY",
        "regions": {"us-east-1": DONE, "eu-west-1": DONE},
    }
    return shown if targets is None else shown | {"targets": targets}


def target(account: str, region: str, progress: dict[str, Any]) -> dict[str, Any]:
    return {"account": account, "region": region, **progress}


ACROSS = view(
    [
        target(MEMBER, "us-east-1", FAILED),
        target(HOME, "us-east-1", DONE),
        target(HOME, "eu-west-1", DONE),
        target(MEMBER, "eu-west-1", DONE),
    ]
)


def text(renderable: Any) -> str:
    console = Console(file=io.StringIO(), width=200, highlight=False, markup=False, emoji=False)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


def rows(output: str) -> list[list[str]]:
    """A rich table's cells, header row first (the tables have no outer border)."""
    return [[cell.strip() for cell in line.split("│")] for line in output.splitlines() if "│" in line]


def test_a_rollout_in_one_account_shows_as_it_did_before_targets() -> None:
    home_only = view([target(HOME, "us-east-1", DONE), target(HOME, "eu-west-1", DONE)])
    assert text(rollout_table(home_only)) == text(rollout_table(view(None)))
    assert targets_summary(home_only) == targets_summary(view(None)) == "2 region(s)"


def test_a_rollout_across_accounts_shows_each_target_grouped_by_account() -> None:
    shown = rows(text(rollout_table(ACROSS)))
    assert shown[0][:3] == ["Account", "Region", "Status"]
    assert [row[:3] for row in shown[1:]] == [
        [MEMBER, "eu-west-1", "SUCCEEDED"],
        ["", "us-east-1", "ROLLED_BACK"],
        [HOME, "eu-west-1", "SUCCEEDED"],
        ["", "us-east-1", "SUCCEEDED"],
    ]
    # Errors below the table, naming the target: the table stays narrow.
    assert f"{MEMBER} us-east-1: RuleValidationFailed: upstream authentication failed" in text(rollout_table(ACROSS))
    assert targets_summary(ACROSS) == "4 target(s) in 2 account(s)"


def test_progress_in_a_log_names_the_account_of_each_target() -> None:
    console = Console(file=io.StringIO(), width=200, force_terminal=False)
    with Progress(console) as progress:
        progress.update(ACROSS)
        progress.update(ACROSS)  # nothing changed: nothing printed again
    lines = console.file.getvalue().splitlines()  # type: ignore[attr-defined]
    assert [line.split()[:3] for line in lines] == [
        [MEMBER, "eu-west-1", "SUCCEEDED"],
        [MEMBER, "us-east-1", "ROLLED_BACK"],
        [HOME, "eu-west-1", "SUCCEEDED"],
        [HOME, "us-east-1", "SUCCEEDED"],
    ]


def test_status_shows_the_accounts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Api, "rollout", lambda self, rollout_id: ACROSS)
    result = CliRunner().invoke(main.cli, ["--api-url", "http://127.0.0.1:1", "status", "r-1"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert MEMBER in result.output and "Account" in result.output


def test_a_rule_across_accounts_shows_its_targets_by_account() -> None:
    rule = {
        "prefix": "quay",
        "rule": {"upstreamRegistry": "quay", "upstreamRegistryUrl": "quay.io"},
        "regions": ["us-east-1"],
        "accounts": [MEMBER],
        "organizationalUnits": ["ou-a1b2-3c4d5e6f"],
        "retainOnAccountRemoval": True,
        "deployedRegions": ["us-east-1"],
        "deployedTargets": [{"account": MEMBER, "region": "us-east-1"}, {"account": HOME, "region": "us-east-1"}],
    }
    shown = {row[0]: row[1] for row in rows(text(rule_table(rule)))}
    assert shown["accounts"] == MEMBER
    assert shown["organizational units"] == "ou-a1b2-3c4d5e6f"
    assert shown["on account removal"] == "retain"
    assert shown["deployed in"] == f"{MEMBER}: us-east-1; {HOME}: us-east-1"
    one_account = rule | {"accounts": None, "organizationalUnits": None, "retainOnAccountRemoval": False}
    one_account["deployedTargets"] = [{"account": HOME, "region": "us-east-1"}]
    shown = {row[0]: row[1] for row in rows(text(rule_table(one_account)))}
    assert shown["deployed in"] == "us-east-1" and "accounts" not in shown and "on account removal" not in shown


def test_a_docker_hub_rule_shows_where_to_pull_and_that_official_images_need_library() -> None:
    uri = f"{HOME}.dkr.ecr.us-east-1.amazonaws.com/docker-hub/"
    rule = {
        "prefix": "docker-hub",
        "rule": {"upstreamRegistry": "docker-hub", "upstreamRegistryUrl": "registry-1.docker.io"},
        "regions": ["us-east-1"],
        "deployedRegions": ["us-east-1"],
        "deployedTargets": [{"account": HOME, "region": "us-east-1", "pullUriPrefix": uri}],
        "smokePull": {"image": "library/alpine:3.20"},
    }

    shown = text(rule_table(rule))

    assert uri in shown and "library/" in shown and "library/alpine:3.20" in shown
