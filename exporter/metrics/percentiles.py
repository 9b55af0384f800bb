"""Percentiles of a small sample, as the `percentile` split of a metric serves them.

The label is `percentile` ("50", "90"), not `quantile`: Prometheus keeps `quantile` for summaries, and
promtool refuses it on a gauge.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

PERCENTILES = ("50", "90")


def percentiles(values: Iterable[float], which: tuple[str, ...] = PERCENTILES) -> Mapping[str, float]:
    """Each percentile by linear interpolation between the closest ranks (numpy's default; one value is
    every percentile); an empty sample has none (no data)."""
    ordered = sorted(values)
    if not ordered:
        return {}
    found = {}
    for label in which:
        position = (len(ordered) - 1) * float(label) / 100
        low = int(position)
        high = min(low + 1, len(ordered) - 1)
        found[label] = ordered[low] + (ordered[high] - ordered[low]) * (position - low)
    return found
