"""The metric registry: system-health metrics are pure functions of one repository's data."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from types import ModuleType

from exporter.metrics.repo_data import RepoData

MetricFunction = Callable[[RepoData], float | None]
_KEY = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_MARK = "__system_health_metric__"
BASE_LABELS = ("repo", "branch")


class DuplicateMetricError(ValueError):
    """Two metrics were registered under one key."""


@dataclass(frozen=True)
class MetricSpec:
    """A registered metric: its key, description, extra labels and function."""

    key: str
    description: str
    function: MetricFunction
    labels: tuple[str, ...] = BASE_LABELS

    @property
    def name(self) -> str:
        """Exposition name: the key with dots turned into underscores."""
        return self.key.replace(".", "_")


def system_health_metric(
    *, metric_key: str, description: str, extra_labels: tuple[str, ...] = ()
) -> Callable[[MetricFunction], MetricFunction]:
    """Mark a function as a system-health metric; `MetricRegistry.from_modules` collects it."""
    if not _KEY.match(metric_key):
        raise ValueError(f"metric key {metric_key!r} must be dotted lower_snake_case, e.g. 'commits.hotfix'")

    def mark(function: MetricFunction) -> MetricFunction:
        spec = MetricSpec(metric_key, description, function, BASE_LABELS + extra_labels)
        setattr(function, _MARK, spec)
        return function

    return mark


class MetricRegistry:
    """An explicit, ordered set of metrics; a duplicate key is an error."""

    def __init__(self, specs: Iterable[MetricSpec] = ()) -> None:
        self._specs: dict[str, MetricSpec] = {}
        for spec in specs:
            self.add(spec)

    def add(self, spec: MetricSpec) -> None:
        """Register one metric."""
        if spec.key in self._specs or any(s.name == spec.name for s in self._specs.values()):
            raise DuplicateMetricError(f"metric key {spec.key!r} is registered twice")
        self._specs[spec.key] = spec

    @classmethod
    def from_modules(cls, *modules: ModuleType) -> MetricRegistry:
        """Collect every function marked with `@system_health_metric` in these modules."""
        found = [getattr(obj, _MARK) for module in modules for obj in vars(module).values() if hasattr(obj, _MARK)]
        return cls(found)

    def __iter__(self) -> Iterator[MetricSpec]:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    def __getitem__(self, key: str) -> MetricSpec:
        return self._specs[key]


def default_registry() -> MetricRegistry:
    """The metrics this exporter ships."""
    from exporter.metrics import ci, commits

    return MetricRegistry.from_modules(ci, commits)
