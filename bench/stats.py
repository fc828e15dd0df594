"""What the benchmarks share for their figures."""

from __future__ import annotations


def percentile(values: list[float], q: float) -> float:
    """Nearest rank: p99 of 50 values is the largest but none; NaN for no values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]
