"""Every relative link of the README and docs/ leads somewhere: the file exists and, when the link names a
section (``page.md#section``), the page has a heading with that anchor (GitHub's slugs)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.doc_blocks import ROOT, documents

LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
HEADING = re.compile(r"^#{1,6} (?P<title>.+)$", re.MULTILINE)


def anchors(page: Path) -> set[str]:
    """GitHub's anchor of each heading: lower case, punctuation dropped, spaces to hyphens."""
    text = FENCE.sub("", page.read_text())
    return {re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-") for title in HEADING.findall(text)}


def links(page: Path) -> list[str]:
    text = FENCE.sub("", page.read_text())
    return [m["target"] for m in LINK.finditer(text) if not re.match(r"[a-z]+:", m["target"])]


@pytest.mark.parametrize("page", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_names_an_existing_file_and_section(page: Path) -> None:
    broken = []
    for target in links(page):
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no heading #{anchor} in {linked.relative_to(ROOT)}")
    assert broken == []


def test_the_readme_links_every_page_of_docs() -> None:
    readme = set(links(ROOT / "README.md"))
    pages = {f"docs/{page.name}" for page in (ROOT / "docs").glob("*.md")}
    assert pages - readme == set()


SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`*(\[])")


def test_the_readme_stays_one_screen_of_short_sentences() -> None:
    """Issue 23: about 150 lines, no sentence over ~50 words (prose only: fences and tables left out)."""
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 160
    prose = FENCE.sub("", text)
    blocks = re.split(r"\n\s*\n|\n(?=\s*- )|\n(?=#)", prose)
    long = [
        sentence[:80]
        for block in blocks
        if not block.lstrip().startswith("|")
        for sentence in SENTENCE_END.split(block.replace("\n", " "))
        if len(sentence.split()) > 55
    ]
    assert long == []
