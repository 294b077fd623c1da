"""docs/architecture.md stays true: every file or directory it names exists, and every row of its "to change X,
look in Y" table points at one."""

from __future__ import annotations

import re

from tests.support import ROOT

DOC = ROOT / "docs" / "architecture.md"
_EXTENSIONS = (".py", ".yaml", ".json", ".md", ".mjs", ".mk", ".toml")
_TOKEN = re.compile(r"[^\s`()|,;]+")


def _is_path(token: str) -> bool:
    if token.startswith(("/", "http")) or token.endswith(":"):
        return False  # an API or fault endpoint, a URL, a label
    return "/" in token or token.endswith(_EXTENSIONS)


def _exists(token: str, base: str) -> bool:
    """``token`` from the repository root or, for a bare file name, from ``base`` (the directory named before it
    on the same line); ``<name>`` and ``*`` stand for any one path segment."""
    pattern = re.sub(r"<[^>]+>", "*", token).rstrip("/")
    candidates = [pattern] if "/" in token or not base else [pattern, f"{base}/{pattern}"]
    return any(next(ROOT.glob(candidate), None) is not None for candidate in candidates)


def _paths(line: str) -> list[tuple[str, str]]:
    """The path-like tokens of ``line``, each with the directory a bare file name after it is read from."""
    found, base = [], ""
    for token in (t.rstrip(".") for t in _TOKEN.findall(line)):
        if not _is_path(token):
            continue
        found.append((token, base))
        if "/" in token:
            base = token.rstrip("/") if token.endswith("/") else token.rsplit("/", 1)[0]
    return found


def test_every_path_the_architecture_doc_names_exists() -> None:
    lines = DOC.read_text(encoding="utf-8").splitlines()
    named = [(number, token, base) for number, line in enumerate(lines, 1) for token, base in _paths(line)]
    assert len(named) > 50, "the doc names the modules"
    missing = [f"line {number}: {token}" for number, token, base in named if not _exists(token, base)]
    assert not missing, missing


def test_every_row_of_the_change_table_points_at_a_path() -> None:
    rows = [line for line in DOC.read_text(encoding="utf-8").splitlines() if line.startswith("| ")]
    rows = rows[1:]  # the header
    assert len(rows) > 30
    for row in rows:
        where = row.strip("|").split(" | ", 1)[1]
        assert _paths(where), row
