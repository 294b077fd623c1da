"""How the CLI shows rollouts and rules: rich tables on a terminal, one line per region change in a log."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

STATUS_STYLE = {
    "RUNNING": "cyan",
    "PENDING": "dim",
    "SUCCEEDED": "green",
    "PLANNED": "green",
    "SKIPPED": "dim",
    "FAILED": "bold red",
    "ROLLED_BACK": "yellow",
    "ROLLBACK_FAILED": "bold red",
}
CHANGE_KINDS = ("secret", "rule", "template")


def status_text(status: str | None) -> Text:
    return Text(status or "-", style=STATUS_STYLE.get(status or "", ""))


def error_text(region: dict[str, Any]) -> str:
    """The region's error, and its rollback's when that failed too: ``Type: message``."""
    parts = []
    for key in ("error", "rollbackError"):
        error = region.get(key)
        if isinstance(error, dict) and error:
            parts.append(f"{error.get('type', 'Error')}: {error.get('message', '')}".strip())
    return "; ".join(parts)


def changes_text(changes: dict[str, Any] | None) -> str:
    """``secret created, rule created, template unchanged``; empty when nothing is known yet."""
    changes = changes or {}
    return ", ".join(f"{kind} {changes[kind]}" for kind in CHANGE_KINDS if changes.get(kind))


def _region_name(name: str, region: dict[str, Any]) -> str:
    return f"{name} (removed)" if region.get("removed") else name


def rollout_title(view: dict[str, Any]) -> Text:
    kind = "plan" if view.get("mode") == "PLAN" else ("delete" if view.get("operation") == "DELETE" else "rollout")
    title = Text(f"{kind} {view.get('rolloutId')}  prefix {view.get('prefix')}  ")
    return title + status_text(view.get("status"))


def rollout_table(view: dict[str, Any]) -> Table:
    """One row per region: status, the step it is at, what changed (or would change, for a plan), the error."""
    table = Table(title=rollout_title(view), title_justify="left", expand=False)
    for column in ("Region", "Status", "Step", "Secret", "Rule", "Template", "Error"):
        table.add_column(column, overflow="fold")
    for name, region in sorted((view.get("regions") or {}).items()):
        changes = region.get("changes") or {}
        table.add_row(
            _region_name(name, region),
            status_text(region.get("status")),
            region.get("step") or "",
            *(str(changes.get(kind) or "") for kind in CHANGE_KINDS),
            error_text(region),
        )
    error = view.get("error")
    if isinstance(error, dict) and error:
        table.caption = f"{error.get('type', 'Error')}: {error.get('message', '')}"
    return table


def region_line(name: str, region: dict[str, Any]) -> str:
    """A region's state as one log line."""
    status = region.get("status") or "-"
    step = f"at {region['step']}" if region.get("step") else ""
    detail = "  ".join(part for part in (step, changes_text(region.get("changes")), error_text(region)) if part)
    return f"  {_region_name(name, region):<26} {status:<16} {detail}".rstrip()


class Progress:
    """Shows a rollout while it runs: a live table on a terminal, else a line each time a region changes."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._seen: dict[str, tuple[Any, ...]] = {}
        self._live: Live | None = None

    def __enter__(self) -> Progress:
        if self.console.is_terminal:
            self._live = Live(console=self.console, refresh_per_second=4, transient=True)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)

    def update(self, view: dict[str, Any]) -> None:
        if self._live is not None:
            self._live.update(rollout_table(view))
            return
        for name, region in sorted((view.get("regions") or {}).items()):
            state = (region.get("status"), region.get("step"), changes_text(region.get("changes")), error_text(region))
            if self._seen.get(name) != state:
                self._seen[name] = state
                self.console.print(region_line(name, region), markup=False, highlight=False, soft_wrap=True)


def rules_table(rules: Iterable[dict[str, Any]]) -> Table:
    """The desired rules: prefix, upstream, desired regions, how the last rollout ended, drift."""
    table = Table(title="rules", title_justify="left")
    table.add_column("Prefix", no_wrap=True)
    for column in ("Upstream", "Regions", "Last rollout", "Drift"):
        table.add_column(column, overflow="fold")
    for rule in rules:
        desired = rule.get("rule") or {}
        table.add_row(
            str(rule.get("prefix") or desired.get("ecrRepositoryPrefix") or ""),
            str(desired.get("upstreamRegistry") or ""),
            ", ".join(rule.get("regions") or []),
            status_text(rule.get("lastRolloutStatus")),
            drift_text(rule.get("drift")),
        )
    return table


def rule_table(rule: dict[str, Any]) -> Table:
    """One desired rule, field by field (never a credential: the API shows none)."""
    desired = rule.get("rule") or {}
    template = rule.get("creationTemplate")
    rows = [
        ("prefix", rule.get("prefix") or desired.get("ecrRepositoryPrefix")),
        ("upstream", f"{desired.get('upstreamRegistry')} ({desired.get('upstreamRegistryUrl')})"),
        ("upstream prefix", desired.get("upstreamRepositoryPrefix")),
        ("custom role", desired.get("customRoleArn")),
        ("credentials", rule.get("sourceSecretArn")),
        ("regions", ", ".join(rule.get("regions") or [])),
        ("deployed in", ", ".join(rule.get("deployedRegions") or [])),
        ("creation template", "none (skipped)" if template is None else (template.get("description") or "yes")),
        ("last rollout", f"{rule.get('lastRolloutId') or '-'} {rule.get('lastRolloutStatus') or ''}".strip()),
        ("drift", drift_text(rule.get("drift"))),
    ]
    table = Table(show_header=False, title=f"rule {rows[0][1]}", title_justify="left")
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for name, value in rows:
        if value:
            table.add_row(name, str(value))
    return table


def drift_text(drift: Any) -> str:
    """``none`` / ``3 finding(s)`` / ``not checked`` from the rule's last drift report."""
    if not isinstance(drift, dict):
        return "not checked"
    findings = drift.get("drift")
    return f"{len(findings)} finding(s)" if findings else "none"
