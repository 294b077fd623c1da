"""REPORT.md sections that commands other than ``make bench``'s full run write: each between its own markers."""

from __future__ import annotations

from pathlib import Path


def put_block(path: Path, lines: list[str], *, begin: str, end: str, before: str) -> Path:
    """Put ``lines`` (the markers ``begin`` and ``end`` included) into REPORT.md: in place of the previous block,
    else before the heading ``before``, else at the end."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    block = "\n".join(lines) + "\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1].lstrip("\n")
    elif before in text:
        head, rest = text.split(before, 1)
        text = head + block + "\n" + before + rest
    else:
        text = text.rstrip() + "\n\n" + block
    path.write_text(text)
    return path
