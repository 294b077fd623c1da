"""benchmarks.sections.put_block: a section written by its own command goes in place, or before its heading."""

from __future__ import annotations

from pathlib import Path

from benchmarks.sections import put_block

REPORT = "# pullthrough benchmarks\n\n## 1. Rollout wall time\n\nfirst\n\n## 2. AWS API calls per region\n\nsecond\n"


def test_a_new_block_goes_before_its_heading_and_a_later_one_replaces_it(tmp_path: Path) -> None:
    report = tmp_path / "REPORT.md"
    report.write_text(REPORT)
    put_block(
        report, ["<!-- b -->", "### 1b. measured", "<!-- /b -->"], begin="<!-- b -->", end="<!-- /b -->", before="## 2."
    )
    text = report.read_text()
    assert text.index("first") < text.index("### 1b. measured") < text.index("## 2. AWS API calls")
    put_block(
        report, ["<!-- b -->", "### 1b. again", "<!-- /b -->"], begin="<!-- b -->", end="<!-- /b -->", before="## 2."
    )
    again = report.read_text()
    assert "### 1b. measured" not in again and again.count("<!-- b -->") == 1
    assert again.index("### 1b. again") < again.index("## 2. AWS API calls") and again.endswith("second\n")


def test_without_its_heading_the_block_is_appended(tmp_path: Path) -> None:
    report = tmp_path / "REPORT.md"
    report.write_text("# only a title\n")
    put_block(report, ["<!-- b -->", "x", "<!-- /b -->"], begin="<!-- b -->", end="<!-- /b -->", before="## 2.")
    assert report.read_text() == "# only a title\n\n<!-- b -->\nx\n<!-- /b -->\n"
