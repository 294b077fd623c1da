"""Markdown building blocks for the report: numbers with units, verdicts, tables."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

from benchmarks.stats import median


def secs(value: float) -> str:
    """Seconds, two decimals (n/a for NaN)."""
    return "n/a" if math.isnan(value) else f"{value:.2f} s"


def millis(value: float) -> str:
    """Seconds shown as whole milliseconds."""
    return "n/a" if math.isnan(value) else f"{value * 1000:.0f} ms"


def times(value: float) -> str:
    """A ratio: 1.23x."""
    return "n/a" if math.isnan(value) else f"{value:.2f}x"


def verdict(met: bool) -> str:
    """met, or a bold not met."""
    return "met" if met else "**not met**"


def table(header: Iterable[str], rows: Iterable[Iterable[object]]) -> list[str]:
    """A Markdown table and a blank line after it."""
    head = list(header)
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return [*lines, ""]


def spread(values: list[float]) -> str:
    """The median in seconds, with min-max when there is more than one value."""
    if not values:
        return "n/a"
    if len(values) == 1:
        return secs(values[0])
    return f"{secs(median(values))} ({min(values):.2f}-{max(values):.2f})"


def ops(counter: Counter[str]) -> str:
    """'CreateSecret, GetSecretValue x2' (sorted by name)."""
    return ", ".join(f"{op} x{n}" if n > 1 else op for op, n in sorted(counter.items())) or "none"
