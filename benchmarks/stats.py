"""Small statistics helpers: medians and ratios that tolerate empty or zero inputs."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable


def median(values: Iterable[float]) -> float:
    """The median, or NaN when there are no values."""
    found = list(values)
    return statistics.median(found) if found else math.nan


def ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, NaN when the denominator is 0 or NaN."""
    if not denominator or math.isnan(denominator):
        return math.nan
    return numerator / denominator


def next_power_of_two(value: float) -> int:
    """The smallest power of two >= ``value`` (1 for values <= 1)."""
    power = 1
    while power < value:
        power *= 2
    return power
