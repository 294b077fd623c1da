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


def accounts_of(view: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]] | None:
    """A rollout's ``targets`` by account, then region; None when they are all in one account (or the API sends
    none): then ``regions`` shows everything, as it did before rollouts reached many accounts."""
    targets = [t for t in view.get("targets") or [] if isinstance(t, dict)]
    if len({target.get("account") for target in targets}) < 2:
        return None
    grouped: dict[str, dict[str, dict[str, Any]]] = {}
    for target in targets:
        grouped.setdefault(str(target.get("account")), {})[str(target.get("region"))] = target
    return grouped


def progress_rows(view: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(account, region, progress) of each target, sorted; account "" when the rollout reaches one account."""
    grouped = accounts_of(view)
    if grouped is None:
        return [("", name, region) for name, region in sorted((view.get("regions") or {}).items())]
    return [
        (account, name, target)
        for account, regions in sorted(grouped.items())
        for name, target in sorted(regions.items())
    ]


def targets_summary(view: dict[str, Any]) -> str:
    """``3 region(s)``, or ``9 target(s) in 3 account(s)`` for a rollout across accounts."""
    grouped = accounts_of(view)
    if grouped is None:
        return f"{len(view.get('regions') or {})} region(s)"
    return f"{sum(len(regions) for regions in grouped.values())} target(s) in {len(grouped)} account(s)"


def rollout_table(view: dict[str, Any]) -> Table:
    """One row per region: status, the step it is at, what changed (or would change, for a plan), the error. Across
    accounts, one row per target, grouped by account."""
    table = Table(title=rollout_title(view), title_justify="left", expand=False)
    rows = progress_rows(view)
    many_accounts = accounts_of(view) is not None
    columns = ["Region", "Status", "Step", "Secret", "Rule", "Template", "Error"]
    for column in ["Account", *columns] if many_accounts else columns:
        table.add_column(column, overflow="fold")
    shown = None
    for account, name, region in rows:
        changes = region.get("changes") or {}
        first_of_account = [account if account != shown else ""] if many_accounts else []
        table.add_row(
            *first_of_account,
            _region_name(name, region),
            status_text(region.get("status")),
            region.get("step") or "",
            *(str(changes.get(kind) or "") for kind in CHANGE_KINDS),
            error_text(region),
        )
        shown = account
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
        for account, name, region in progress_rows(view):
            where = f"{account} {name}" if account else name
            state = (region.get("status"), region.get("step"), changes_text(region.get("changes")), error_text(region))
            if self._seen.get(where) != state:
                self._seen[where] = state
                self.console.print(region_line(where, region), markup=False, highlight=False, soft_wrap=True)


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
        ("accounts", ", ".join(rule.get("accounts") or [])),
        ("organizational units", ", ".join(rule.get("organizationalUnits") or [])),
        ("on account removal", "retain" if rule.get("retainOnAccountRemoval") else ""),
        ("deployed in", deployed_text(rule)),
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


def deployed_text(rule: dict[str, Any]) -> str:
    """Where the rule is deployed: its regions, or per account when it is deployed in more than one."""
    by_account: dict[str, list[str]] = {}
    for target in rule.get("deployedTargets") or []:
        by_account.setdefault(str(target.get("account")), []).append(str(target.get("region")))
    if len(by_account) < 2:
        return ", ".join(rule.get("deployedRegions") or [])
    return "; ".join(f"{account}: {', '.join(sorted(regions))}" for account, regions in sorted(by_account.items()))


def drift_text(drift: Any) -> str:
    """``none`` / ``3 finding(s)`` / ``not checked`` from the rule's last drift report."""
    if not isinstance(drift, dict):
        return "not checked"
    findings = drift.get("drift")
    return f"{len(findings)} finding(s)" if findings else "none"
