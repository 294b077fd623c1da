"""Which fenced blocks the doc-command test runs, and how it points them at the stack's ports."""

from __future__ import annotations

from pathlib import Path

from tests.doc_blocks import runnable_blocks, with_ports


def test_only_blocks_marked_runnable_are_taken_with_their_line_and_indent_removed(tmp_path: Path) -> None:
    doc = tmp_path / "x.md"
    doc.write_text(
        "# t\n```bash\nmake test\n```\n\n```bash runnable\ncurl -s 127.0.0.1:3000/rules\n```\n"
        "- item\n\n  ```sh runnable\n  echo one\n  echo two\n  ```\n```json runnable\n{}\n```\n"
    )
    blocks = runnable_blocks(doc)
    assert [(b.line, b.script) for b in blocks] == [(6, "curl -s 127.0.0.1:3000/rules"), (11, "echo one\necho two")]


def test_documented_ports_become_the_stacks() -> None:
    script = "curl 127.0.0.1:3000/rules; aws --endpoint-url http://localhost:5000 x; skopeo 127.0.0.1:5001/a :30001"
    assert with_ports(script, {"api": 41000, "aws": 41001, "registry": 41002}) == (
        "curl 127.0.0.1:41000/rules; aws --endpoint-url http://localhost:41001 x; skopeo 127.0.0.1:41002/a :30001"
    )
