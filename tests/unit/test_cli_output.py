"""What the CLI shows a person: tables that fit 80 columns without splitting a word, every target of a rollout
(one account other than home, none at all), plans in the conditional, errors once, --json anywhere, a question
before deleting, and a start that loads neither botocore nor rich for --help."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from typing import Any

import pytest
from click.testing import CliRunner
from rich.console import Console

from pullthrough_cli import main
from pullthrough_cli.client import Api
from pullthrough_cli.errors import ApiError
from pullthrough_cli.render import rollout_table, rule_table, rules_table

HOME, MEMBER = "123456789012", "111122223333"
URL = ["--api-url", "http://127.0.0.1:1"]
CHANGED = {"secret": "replaced", "rule": "unchanged", "template": "created"}
FAILED = {"type": "RuleValidationFailed", "message": "upstream authentication failed for the account"}


def target(account: str, region: str, status: str, **fields: Any) -> dict[str, Any]:
    return {"account": account, "region": region, "status": status, "step": None, "error": None, "changes": {}} | fields


def rollout(targets: list[dict[str, Any]], status: str = "ROLLED_BACK", **fields: Any) -> dict[str, Any]:
    home = {t["region"]: t for t in targets if t["account"] == HOME}
    return {
        "rolloutId": "r-" + "0" * 32,
        "status": status,
        "prefix": "team/github-container-registry",
        "operation": "APPLY",
        "mode": "APPLY",
        "regions": home,
        "targets": targets,
    } | fields


WIDEST = rollout(
    [
        target(HOME, "ap-southeast-2", "ROLLBACK_FAILED", step="ApplyTemplate", changes=CHANGED, error=FAILED),
        target(HOME, "eu-central-1", "ROLLED_BACK", step="ValidateRule", changes=CHANGED, removed=True),
        target(MEMBER, "us-east-1", "SUCCEEDED", changes=CHANGED),
    ],
    error={"type": "FailureToleranceExceeded", "message": "1 of 3 targets failed; 0 tolerated"},
)


def text(renderable: Any, width: int = 80) -> str:
    console = Console(file=io.StringIO(), width=width, highlight=False, markup=False, emoji=False)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


def words(output: str) -> set[str]:
    return set(re.split(r"[\s│┃]+", output))


def header(output: str) -> list[str]:
    line = next(line for line in output.splitlines() if "Region" in line or "Prefix" in line)
    return [cell.strip() for cell in re.split(r"[│┃]", line)]


def test_a_rollout_fits_80_columns_and_no_cell_is_split() -> None:
    shown = text(rollout_table(WIDEST))
    assert max(len(line) for line in shown.splitlines()) <= 80, shown
    expected = {HOME, MEMBER, "ap-southeast-2", "eu-central-1", "(removed)", "ROLLBACK_FAILED", "ROLLED_BACK"}
    expected |= {"SUCCEEDED", "ApplyTemplate", "ValidateRule", "replaced,", "unchanged,", "created"}
    assert expected <= words(shown), shown
    assert "RuleValidationFailed: upstream authentication failed for the account" in " ".join(shown.split())
    assert "FailureToleranceExceeded: 1 of 3 targets failed; 0 tolerated" in shown


def test_the_rules_fit_80_columns_and_no_cell_is_split() -> None:
    rules = [
        {
            "prefix": "team/github-container-registry",
            "rule": {"upstreamRegistry": "github-container-registry"},
            "regions": ["us-east-1", "eu-west-1", "ap-southeast-2"],
            "accounts": [MEMBER, HOME],
            "organizationalUnits": ["ou-a1b2-3c4d5e6f"],
            "lastRolloutStatus": "ROLLED_BACK",
            "drift": {"drift": [{}, {}, {}]},
        }
    ]
    shown = text(rules_table(rules))
    assert max(len(line) for line in shown.splitlines()) <= 80, shown
    assert {"team/github-container-registry", "github", "ROLLED_BACK", "regions,", "findings"} <= words(shown), shown


def test_a_rollout_to_one_account_other_than_home_shows_its_targets_and_why_it_rolled_back() -> None:
    member_only = rollout(
        [target(MEMBER, "eu-west-1", "ROLLED_BACK", step="ValidateRule", error=FAILED)],
        error={"type": "FailureToleranceExceeded", "message": "1 of 1 targets failed"},
    )
    shown = text(rollout_table(member_only), width=200)
    assert header(shown)[:3] == ["Account", "Region", "Status"]
    assert re.search(rf"{MEMBER}\s+│\s+eu-west-1\s+│\s+ROLLED_BACK", shown), shown
    assert f"{MEMBER} eu-west-1: RuleValidationFailed: {FAILED['message']}" in shown
    assert "FailureToleranceExceeded: 1 of 1 targets failed" in shown


def test_a_rollout_with_no_target_says_so_and_why() -> None:
    empty = rollout([], error={"type": "NoTargets", "message": "the organizational units hold no ACTIVE account"})
    shown = text(rollout_table(empty))
    assert "no targets" in shown and "NoTargets: the organizational units hold no ACTIVE account" in shown


def test_the_step_column_shows_only_when_a_target_has_a_step_and_errors_go_below() -> None:
    done = rollout([target(HOME, "us-east-1", "SUCCEEDED", changes=CHANGED)], status="SUCCEEDED")
    assert header(text(rollout_table(done))) == ["Region", "Status", "Changes"]
    failed = rollout([target(HOME, "us-east-1", "FAILED", step="CreateRule", error=FAILED)], status="FAILED")
    assert header(text(rollout_table(failed))) == ["Region", "Status", "Step", "Changes"]


def test_a_plan_says_what_it_would_do_and_each_target_is_planned() -> None:
    changes = {"secret": "skipped", "rule": "created", "template": "updated"}
    planned = rollout([target(HOME, "us-east-1", "SUCCEEDED", changes=changes)], status="PLANNED", mode="PLAN")
    shown = text(rollout_table(planned), width=200)
    row = next(line for line in shown.splitlines() if "us-east-1" in line)
    assert [cell.strip() for cell in row.split("│")] == [
        "us-east-1",
        "PLANNED",
        "secret skipped, would create rule, would update template",
    ]
    assert "SUCCEEDED" not in shown and "Would change" in shown


def test_a_rule_table_fits_80_columns() -> None:
    rule = {"prefix": "quay", "rule": {"upstreamRegistry": "quay", "upstreamRegistryUrl": "quay.io"}, "regions": []}
    assert max(len(line) for line in text(rule_table(rule)).splitlines()) <= 80


@pytest.mark.parametrize(
    "args", [["--json", "status", "r-1"], ["status", "r-1", "--json"], ["status", "--json", "r-1"]]
)
def test_json_is_accepted_before_or_after_the_command(monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    view = rollout([target(HOME, "us-east-1", "SUCCEEDED")], status="SUCCEEDED")
    monkeypatch.setattr(Api, "rollout", lambda self, rollout_id: view)
    result = CliRunner().invoke(main.cli, [*URL, *args])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == view


def refused(*_: Any, **__: Any) -> Any:
    message = "regions.0: must be a region name"
    raise ApiError(422, {"message": message, "errors": [{"field": "regions.0", "message": "must be a region name"}]})


def test_an_error_is_printed_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setattr(Api, "apply", refused)
    path = tmp_path / "rule.json"
    path.write_text("{}")
    result = CliRunner().invoke(main.cli, [*URL, "apply", "-f", str(path)])
    assert result.exit_code == 3
    assert result.stderr.count("must be a region name") == 1, result.stderr
    as_json = CliRunner().invoke(main.cli, [*URL, "apply", "-f", str(path), "--json"])
    assert as_json.exit_code == 3 and as_json.stderr == ""
    assert json.loads(as_json.stdout)["error"]["status"] == 422


def test_apply_plan_is_a_plan(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    asked: list[bool] = []

    def apply(self: Api, rule: Any, *, plan: bool = False, idempotency_key: str | None = None) -> dict[str, Any]:
        asked.append(plan)
        return rollout([], status="RUNNING", mode="PLAN")

    monkeypatch.setattr(Api, "apply", apply)
    monkeypatch.setattr(Api, "rollout", lambda self, rollout_id: rollout([], status="PLANNED", mode="PLAN"))
    path = tmp_path / "rule.json"
    path.write_text("{}")
    result = CliRunner().invoke(main.cli, [*URL, "apply", "-f", str(path), "--plan", "--interval", "0.1"])
    assert result.exit_code == 0, result.output
    assert asked == [True] and "PLANNED" in result.output


@pytest.mark.parametrize(
    ("args", "interactive", "answer", "deleted", "code"),
    [
        ([], True, "n\n", False, 1),
        ([], True, "y\n", True, 0),
        (["--yes"], True, "", True, 0),
        ([], False, "", True, 0),
    ],
    ids=["declined", "confirmed", "yes", "not-a-terminal"],
)
def test_delete_asks_first_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, args: list[str], interactive: bool, answer: str, deleted: bool, code: int
) -> None:
    calls: list[str] = []

    def delete(self: Api, prefix: str, *, plan: bool = False) -> dict[str, Any]:
        calls.append(prefix)
        return rollout([], status="RUNNING", operation="DELETE")

    monkeypatch.setattr(Api, "delete", delete)
    monkeypatch.setattr(main, "interactive", lambda: interactive)
    result = CliRunner().invoke(main.cli, [*URL, "delete", "quay", *args], input=answer)
    assert (result.exit_code, calls) == (code, ["quay"] if deleted else []), result.output


def test_help_imports_neither_botocore_nor_rich() -> None:
    probe = (
        "import sys\nfrom pullthrough_cli.main import cli\ntry:\n    cli(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted({m.split('.')[0] for m in sys.modules if m.split('.')[0] in ('botocore', 'rich')}))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
