"""Goal-met and health-score families, computed from the series the exporter serves and the registry's goals.

A pure function for the collector: `goal_families(series, registry)` takes every served series (the
collector's cache, or a refresh's results) and returns the three families of `exporter.catalog`'s
SCORE_METRICS. Only a series with a goal, a value and a successful last computation is scored:
"no data" and "failed" have no score, never 0 or 1. With no series it returns the families empty,
which is what `describe()` yields.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from prometheus_client.core import GaugeMetricFamily

from exporter import catalog
from exporter.metrics.goals import overall
from exporter.metrics.registry import MetricRegistry


class ServedSeries(Protocol):
    """One series as the exporter serves it (`refresh.SeriesResult` has this shape)."""

    @property
    def key(self) -> str: ...

    @property
    def labels(self) -> Mapping[str, str]: ...

    @property
    def value(self) -> float | Mapping[str, float] | None: ...

    @property
    def ok(self) -> bool: ...


@dataclass(frozen=True)
class Served:
    """A `ServedSeries` built by hand, e.g. from a cache entry: `ok` False when its last refresh failed."""

    key: str
    labels: Mapping[str, str] = field(default_factory=dict)
    value: float | Mapping[str, float] | None = None
    ok: bool = True


@dataclass(frozen=True)
class Score:
    """One scored series."""

    key: str
    repo: str
    branch: str
    met: bool
    score: float


def scores(series: Iterable[ServedSeries], registry: MetricRegistry) -> list[Score]:
    """The score of every series whose metric has a goal and whose last computation gave a value."""
    specs = {spec.key: spec for spec in registry}
    scored = []
    for one in series:
        spec = specs.get(one.key)
        goal = spec.goal if spec is not None else None
        if spec is None or goal is None or not one.ok:
            continue
        value = one.value
        if isinstance(value, Mapping):  # a split metric: its goal scores one declared sample (Split.scored)
            value = value.get(spec.split.scored) if spec.split is not None and spec.split.scored else None
        if value is None or math.isnan(value):
            continue
        repo, branch = one.labels["repo"], one.labels["branch"]
        scored.append(Score(one.key, repo, branch, goal.met(value), goal.score(value)))
    return scored


def goal_families(series: Iterable[ServedSeries], registry: MetricRegistry) -> list[GaugeMetricFamily]:
    """`system_health_goal_met`, `system_health_score` and `system_health_score_overall`, in that order."""
    met = _family(catalog.GOAL_MET)
    score = _family(catalog.SCORE)
    overall_score = _family(catalog.SCORE_OVERALL)
    by_repo: dict[tuple[str, str], list[float]] = {}
    for one in scores(series, registry):
        met.add_metric([one.key, one.repo, one.branch], 1.0 if one.met else 0.0)
        score.add_metric([one.key, one.repo, one.branch], one.score)
        by_repo.setdefault((one.repo, one.branch), []).append(one.score)
    for (repo, branch), values in by_repo.items():
        mean = overall(values)
        if mean is not None:
            overall_score.add_metric([repo, branch], mean)
    return [met, score, overall_score]


def _family(entry: catalog.CatalogEntry) -> GaugeMetricFamily:
    return GaugeMetricFamily(entry.name, entry.description, labels=list(entry.labels))
