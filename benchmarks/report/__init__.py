"""Write REPORT.md: the header (machine, versions, settings), the targets, then one section per measurement.

Every number and every verdict comes from the run's results; the explanations for missed targets are computed
from the same run where they can be (CPU use, GC pauses, import-time breakdown, the calls beyond the needed ones).
"""

from __future__ import annotations

from pathlib import Path

from benchmarks import org_model
from benchmarks.report import calls, cold, drift, header, wall
from benchmarks.report.results import Results

__all__ = ["Results", "write"]


def write(results: Results, out: Path, kept: list[str] | None = None) -> Path:
    """REPORT.md into ``out``; its path. ``kept``: a section written by another command, carried over as it was."""
    lines = [
        *header.top(results),
        *header.targets(results),
        *wall.section(results),
        *calls.section(results),
        *calls.transitions_section(results),
        *cold.section(results),
        *drift.section(results),
        *(kept or []),
        *([""] if kept else []),
        *org_model.section(),  # from named constants (python -m benchmarks.org_model rewrites it alone)
        "",
        *header.method(),
    ]
    path = out / "REPORT.md"
    path.write_text("\n".join(lines).rstrip() + "\n")
    return path
