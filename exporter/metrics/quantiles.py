"""Quantiles of a small sample, as the `quantile` split of a metric serves them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

QUANTILES = ("0.5", "0.9")


def quantiles(values: Iterable[float], which: tuple[str, ...] = QUANTILES) -> Mapping[str, float]:
    """Each quantile by linear interpolation between the closest ranks (numpy's default; one value is
    every quantile); an empty sample has none (no data)."""
    ordered = sorted(values)
    if not ordered:
        return {}
    found = {}
    for label in which:
        position = (len(ordered) - 1) * float(label)
        low = int(position)
        high = min(low + 1, len(ordered) - 1)
        found[label] = ordered[low] + (ordered[high] - ordered[low]) * (position - low)
    return found
