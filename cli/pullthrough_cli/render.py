"""How the CLI shows rollouts and rules: rich tables on a terminal, one line per region change in a log."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich import box
from rich.console import Console, Group, RenderableType
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
CHANGE_KINDS = ("secret", "rule", "template", "pull")
# What a plan says it would do, in the conditional; unchanged and skipped read the same either way.
WOULD = {"created": "would create", "updated": "would update", "replaced": "would replace", "deleted": "would delete"}


def compact_table(title: str | Text, *, show_header: bool = True) -> Table:
    """A table that fits an 80-column terminal without splitting a word: no outer border, one rule between cells."""
    return Table(
        title=title,
        title_justify="left",
        box=box.SQUARE,
        show_edge=False,
        pad_edge=False,
        show_header=show_header,
        expand=False,
    )


def status_text(status: str | None) -> Text:
    return Text(status or "-", style=STATUS_STYLE.get(status or "", ""))


def is_plan(view: dict[str, Any]) -> bool:
    return view.get("mode") == "PLAN"


def target_status(view: dict[str, Any], target: dict[str, Any]) -> str:
    """A target's status; a plan's targets that would succeed are PLANNED, like the plan itself."""
    status = str(target.get("status") or "-")
    return "PLANNED" if is_plan(view) and status == "SUCCEEDED" else status


def error_text(region: dict[str, Any]) -> str:
    """The region's error, and its rollback's when that failed too: ``Type: message``."""
    parts = []
    for key in ("error", "rollbackError"):
        error = region.get(key)
        if isinstance(error, dict) and error:
            parts.append(f"{error.get('type', 'Error')}: {error.get('message', '')}".strip())
    return "; ".join(parts)


def changes_text(changes: dict[str, Any] | None, plan: bool = False) -> str:
    """``secret created, rule created, template unchanged`` (a plan: ``would create secret, ...``); empty when
    nothing is known yet."""
    changes = changes or {}
    shown = []
    for kind in CHANGE_KINDS:
        change = changes.get(kind)
        if not change:
            continue
        shown.append(f"{WOULD[change]} {kind}" if plan and change in WOULD else f"{kind} {change}")
    return ", ".join(shown)


def _region_name(name: str, region: dict[str, Any]) -> str:
    return f"{name} (removed)" if region.get("removed") else name


def rollout_kind(view: dict[str, Any]) -> str:
    return "plan" if is_plan(view) else ("delete" if view.get("operation") == "DELETE" else "rollout")


def rollout_title(view: dict[str, Any]) -> Text:
    title = Text(f"{rollout_kind(view)} {view.get('rolloutId')}  prefix {view.get('prefix')}  ")
    return title + status_text(view.get("status"))


def accounts_of(view: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]] | None:
    """A rollout's ``targets`` by account, then region; None when every target is in the home account (or the API
    sends none): then ``regions`` (the home account's targets) shows everything."""
    targets = [t for t in view.get("targets") or [] if isinstance(t, dict)]
    regions = view.get("regions") or {}
    if not targets or (len({target.get("account") for target in targets}) < 2 and len(targets) == len(regions)):
        return None
    grouped: dict[str, dict[str, dict[str, Any]]] = {}
    for target in targets:
        grouped.setdefault(str(target.get("account")), {})[str(target.get("region"))] = target
    return grouped


def progress_rows(view: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(account, region, progress) of each target, sorted; account "" when every target is in the home account."""
    grouped = accounts_of(view)
    if grouped is None:
        return [("", name, region) for name, region in sorted((view.get("regions") or {}).items())]
    return [
        (account, name, target)
        for account, regions in sorted(grouped.items())
        for name, target in sorted(regions.items())
    ]


def targets_summary(view: dict[str, Any]) -> str:
    """``3 region(s)``, or ``9 target(s) in 3 account(s)`` for a rollout beyond the home account."""
    grouped = accounts_of(view)
    if grouped is None:
        return f"{len(view.get('regions') or {})} region(s)"
    return f"{sum(len(regions) for regions in grouped.values())} target(s) in {len(grouped)} account(s)"


def rollout_table(view: dict[str, Any]) -> RenderableType:
    """One row per target: status, the step it is at (when any is), what changed (or would change, for a plan);
    the errors below the table, and the rollout's own error (why it rolled back) last. Beyond the home account,
    the rows are grouped by account."""
    plan = is_plan(view)
    rows = progress_rows(view)
    many_accounts = accounts_of(view) is not None
    with_step = any(region.get("step") for _, _, region in rows)
    table = compact_table(rollout_title(view))
    if many_accounts:
        table.add_column("Account", no_wrap=True)
    table.add_column("Region")
    table.add_column("Status", no_wrap=True)
    if with_step:
        table.add_column("Step", no_wrap=True)
    table.add_column("Changes" if not plan else "Would change")
    errors: list[str] = []
    shown = None
    for account, name, region in rows:
        where = _region_name(name, region)
        table.add_row(
            *([account if account != shown else ""] if many_accounts else []),
            where,
            status_text(target_status(view, region)),
            *([region.get("step") or ""] if with_step else []),
            changes_text(region.get("changes"), plan),
        )
        shown = account
        if error_text(region):
            errors.append(f"{account + ' ' if account else ''}{where}: {error_text(region)}")
    below: list[RenderableType] = [Text(line) for line in errors]
    if not rows:
        below.append(Text("no targets: no account or region to act on"))
    error = view.get("error")
    if isinstance(error, dict) and error:
        below.append(Text(f"{error.get('type', 'Error')}: {error.get('message', '')}"))
    return Group(table, *below) if below else table


def region_line(name: str, region: dict[str, Any], view: dict[str, Any] | None = None) -> str:
    """A target's state as one log line."""
    view = view or {}
    status = target_status(view, region)
    step = f"at {region['step']}" if region.get("step") else ""
    changes = changes_text(region.get("changes"), is_plan(view))
    detail = "  ".join(part for part in (step, changes, error_text(region)) if part)
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
                self.console.print(region_line(where, region, view), markup=False, highlight=False, soft_wrap=True)


# The upstreams whose names are long, by the short names ECR's console gives their default prefixes.
SHORT_UPSTREAMS = {
    "github-container-registry": "github",
    "azure-container-registry": "azure",
    "gitlab-container-registry": "gitlab",
}


def rules_table(rules: Iterable[dict[str, Any]]) -> Table:
    """The desired rules: prefix, upstream, where they are desired, how the last attempt ended (failed or not),
    drift."""
    table = compact_table("rules")
    table.add_column("Prefix", no_wrap=True)
    table.add_column("Upstream", no_wrap=True)
    table.add_column("Targets")
    table.add_column("Last rollout", no_wrap=True)
    table.add_column("Drift")
    for rule in rules:
        desired = rule.get("rule") or {}
        upstream = str(desired.get("upstreamRegistry") or "")
        table.add_row(
            str(rule.get("prefix") or desired.get("ecrRepositoryPrefix") or ""),
            SHORT_UPSTREAMS.get(upstream, upstream),
            desired_targets(rule),
            status_text(rule.get("lastRolloutStatus") or ("RUNNING" if rule.get("lastRolloutId") else None)),
            drift_text(rule.get("drift")),
        )
    return table


def desired_targets(rule: dict[str, Any]) -> str:
    """``3 regions``, or ``3 regions, 2 accounts`` (``+ OUs`` when organizational units name more)."""
    regions = len(rule.get("regions") or [])
    shown = [f"{regions} region{'s' if regions != 1 else ''}"]
    accounts = len(rule.get("accounts") or [])
    if accounts:
        shown.append(f"{accounts} account{'s' if accounts != 1 else ''}")
    if rule.get("organizationalUnits"):
        shown.append("+ OUs")
    return ", ".join(shown)


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
        ("pull from", pull_text(rule)),
        ("smoke pull", (rule.get("smokePull") or {}).get("image")),
        ("creation template", "none (skipped)" if template is None else (template.get("description") or "yes")),
        ("last rollout", f"{rule.get('lastRolloutId') or '-'} {rule.get('lastRolloutStatus') or ''}".strip()),
        ("drift", drift_text(rule.get("drift"))),
    ]
    table = compact_table(f"rule {rows[0][1]}", show_header=False)
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


def pull_text(rule: dict[str, Any]) -> str:
    """Each target's image URI prefix (one line each), with Docker Hub's ``library/`` for its official images."""
    prefixes = [str(t["pullUriPrefix"]) for t in rule.get("deployedTargets") or [] if t.get("pullUriPrefix")]
    if prefixes and (rule.get("rule") or {}).get("upstreamRegistry") == "docker-hub":
        prefixes.append("(official images: library/, e.g. library/alpine:3.20)")
    return "\n".join(prefixes)


def drift_text(drift: Any) -> str:
    """``none`` / ``3 findings`` / ``not checked`` from the rule's last drift report."""
    if not isinstance(drift, dict):
        return "not checked"
    findings = drift.get("drift") or []
    return f"{len(findings)} finding{'s' if len(findings) != 1 else ''}" if findings else "none"
