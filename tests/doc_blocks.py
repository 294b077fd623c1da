"""The shell blocks of the README and docs/ that a reader may paste: fenced ```bash runnable``` blocks.

A block marked ``runnable`` is run as written by tests/e2e/test_doc_commands.py against `make local`'s stack
(started on free ports: the documented 3000, 5000 and 5001 are replaced by the ports it got). Other blocks (`make
test` itself, deploy commands that need an AWS account) stay unmarked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^(?P<indent> *)```(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=indent)```\s*$", re.MULTILINE | re.DOTALL)
DOCUMENTED_PORTS = {"3000": "api", "5000": "aws", "5001": "registry"}


@dataclass(frozen=True)
class Block:
    """One runnable block: where it is (file, line) and its commands."""

    path: Path
    line: int
    script: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def runnable_blocks(path: Path) -> list[Block]:
    """The blocks of ``path`` whose info string is ``bash runnable`` (or ``sh runnable``), in order."""
    text = path.read_text()
    found = []
    for match in FENCE.finditer(text):
        words = match["info"].split()
        if words[:1] in (["bash"], ["sh"]) and "runnable" in words[1:]:
            indent = len(match["indent"])
            body = "\n".join(line[indent:] for line in match["body"].splitlines())
            found.append(Block(path, text.count("\n", 0, match.start()) + 1, body))
    return found


def with_ports(script: str, ports: dict[str, int]) -> str:
    """``script`` aimed at the stack's ports: ``127.0.0.1:3000`` (and localhost:3000) become the API's port, and so on."""
    for documented, name in DOCUMENTED_PORTS.items():
        script = re.sub(rf"(127\.0\.0\.1|localhost):{documented}\b", rf"\g<1>:{ports[name]}", script)
    return script
