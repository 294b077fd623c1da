"""``pullthrough pull-test PREFIX IMAGE``: pull IMAGE through PREFIX's rule in every target now (POST /pull-tests),
and show each target's digest or why the pull failed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.table import Table


def pull_test_table(result: dict[str, Any]) -> Table:
    """One row per target: account, region, and the digest or the failure (type: message)."""
    from pullthrough_cli.render import compact_table

    table = compact_table(f"pull test {result.get('prefix')}/{result.get('image')}")
    table.add_column("Account", no_wrap=True)
    table.add_column("Region", no_wrap=True)
    table.add_column("Digest or failure", overflow="fold")
    for target in result.get("targets") or []:
        error = target.get("error")
        shown = f"{error.get('type')}: {error.get('message')}" if error else str(target.get("pull"))
        table.add_row(str(target.get("account")), str(target.get("region")), shown)
    return table


def failed(result: dict[str, Any]) -> bool:
    """Whether any target's pull failed (or the rule is deployed nowhere)."""
    targets = result.get("targets") or []
    return not targets or any(t.get("error") for t in targets)
