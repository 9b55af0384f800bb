"""The metric registry: system-health metrics are pure functions of one repository's data."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from types import ModuleType

from exporter.metrics.goals import Goal
from exporter.metrics.repo_data import RepoData
from exporter.settings import Settings, configuration_error

# A value, None for "no data", or for a split metric (see `Split`) one value per split label value.
MetricValue = float | Mapping[str, float] | None
MetricFunction = Callable[[RepoData], MetricValue]
_KEY = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_MARK = "__system_health_metric__"
BASE_LABELS = ("repo", "branch")


class DuplicateMetricError(ValueError):
    """Two metrics were registered under one key."""


@dataclass(frozen=True)
class Split:
    """One more label whose values come from the data, from a fixed set: e.g. `ci.runs{conclusion=...}`.

    The metric function returns a mapping from some of `values` to numbers; each becomes a sample with
    `label` set to it (a value the function leaves out has no sample). The set is declared, so the
    number of series per repository stays fixed (Datadog bills per series). A goal applies to the
    sample whose value is `scored` (e.g. the median of a percentile split); without it a split metric
    cannot carry a goal.
    """

    label: str
    values: tuple[str, ...]
    scored: str | None = None

    def __post_init__(self) -> None:
        if not self.values or len(set(self.values)) != len(self.values):
            raise ValueError(f"split {self.label!r}: values must be distinct and not empty")
        if self.scored is not None and self.scored not in self.values:
            raise ValueError(f"split {self.label!r}: scored value {self.scored!r} is not one of {self.values}")


@dataclass(frozen=True)
class MetricSpec:
    """A registered metric: its key, description, function, labels, unit and goal (None: not scored)."""

    key: str
    description: str
    function: MetricFunction
    labels: tuple[str, ...] = BASE_LABELS
    unit: str = ""
    goal: Goal | None = None
    split: Split | None = None

    @property
    def name(self) -> str:
        """Exposition name: the key with dots turned into underscores."""
        return self.key.replace(".", "_")


def system_health_metric(
    *,
    metric_key: str,
    description: str,
    extra_labels: tuple[str, ...] = (),
    unit: str = "",
    goal: Goal | None = None,
    split: Split | None = None,
) -> Callable[[MetricFunction], MetricFunction]:
    """Mark a function as a system-health metric; `MetricRegistry.from_modules` collects it."""
    if not _KEY.match(metric_key):
        raise ValueError(f"metric key {metric_key!r} must be dotted lower_snake_case, e.g. 'commits.hotfix'")
    if goal is not None and split is not None and split.scored is None:
        raise ValueError(f"metric {metric_key!r}: a split metric with a goal must name the split value scored")
    labels = BASE_LABELS + extra_labels + ((split.label,) if split is not None else ())
    if goal is not None:
        if unit and goal.unit and goal.unit != unit:
            raise ValueError(f"metric {metric_key!r}: goal unit {goal.unit!r} is not the metric's unit {unit!r}")
        unit = unit or goal.unit
        goal = replace(goal, unit=unit)

    def mark(function: MetricFunction) -> MetricFunction:
        spec = MetricSpec(metric_key, description, function, labels, unit, goal, split)
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

    def configured(self, settings: Settings) -> MetricRegistry:
        """This registry less the metrics `EXPORTER_METRICS_DISABLED` names, with `EXPORTER_GOALS` applied.

        A disabled metric is not in the result, so a refresh never calls it and fetches nothing for it.
        An unknown key is a `SettingsError` naming the variable, the value and the known keys.
        """
        known = f"known metrics: {', '.join(self._specs)}"
        for key in settings.metrics_disabled:
            if key not in self._specs:
                value = ",".join(settings.metrics_disabled)
                raise configuration_error("EXPORTER_METRICS_DISABLED", value, f"unknown metric {key!r}; {known}")
        goals = {spec.key: spec.goal for spec in self}
        for override in settings.goals:
            if override.key not in self._specs:
                raise configuration_error("EXPORTER_GOALS", override.entry, f"unknown metric {override.key!r}; {known}")
            goals[override.key] = override.apply(self._specs[override.key].goal, self._specs[override.key].unit)
        disabled = set(settings.metrics_disabled)
        return MetricRegistry(replace(spec, goal=goals[spec.key]) for spec in self if spec.key not in disabled)

    def __iter__(self) -> Iterator[MetricSpec]:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    def __getitem__(self, key: str) -> MetricSpec:
        return self._specs[key]


def default_registry() -> MetricRegistry:
    """The metrics this exporter ships."""
    from exporter.metrics import ci, commits, dora, prs

    return MetricRegistry.from_modules(ci, commits, prs, dora)
