"""Goals for system-health metrics and the health score of a value against its goal.

A `Goal` says where a metric should be (`commits.hotfix <= 4`, in commits) and how far past that
target things are as bad as they get (the tolerance). For a value `v`:

- `met(v)` is the comparison itself: `v < target`, `v <= target`, `v > target` or `v >= target`.
- `score(v)` is 1 exactly when the goal is met. Otherwise it is `1 - distance / tolerance`, clamped
  to [0, 1], where `distance` is how far `v` is past the target on the failing side (`v - target`
  for `<` and `<=`, `target - v` for `>` and `>=`): it falls linearly from 1 at the target to 0 at
  `target ± tolerance`, and stays 0 beyond. A tolerance of 0 makes the score a step: 1 met, 0 missed.
- The one value where that line would give 1 to a miss is the target of a strict goal (`v == target`
  under `<` or `>`: distance 0). A miss never scores 1, so there the score is the largest float
  below 1 (0.9999999999999999): `score == 1` and `goal_met == 1` always agree, and the score stays
  continuous and monotone on the failing side. For counts this means `< N` scores its first miss
  (`N`) about 1, while `<= N-1`, the same goal, scores it `1 - 1/tolerance`: write count goals as
  `<=` when the first miss should show in the score (`EXPORTER_GOALS` can do so without code).

`EXPORTER_GOALS` overrides goals without code (parsed once with the settings, see `parse_overrides`):
comma-separated entries, each `KEY OP TARGET [~TOLERANCE]` or `KEY=off`, e.g.
`commits.hotfix<3~5, commits.reverts=off`. An entry without `~TOLERANCE` keeps the registered
tolerance (0 when the metric had no goal); the unit is always the registered one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, get_args

Comparison = Literal["<", "<=", ">", ">="]
COMPARISONS: tuple[Comparison, ...] = get_args(Comparison)
_BELOW_ONE = math.nextafter(1.0, 0.0)


@dataclass(frozen=True)
class Goal:
    """Where a metric should be: `value <comparison> target`, scored down to 0 at `target ± tolerance`."""

    target: float
    comparison: Comparison
    unit: str = ""
    tolerance: float = 0.0

    def __post_init__(self) -> None:
        if self.comparison not in COMPARISONS:
            raise ValueError(f"comparison {self.comparison!r} is not one of {', '.join(COMPARISONS)}")
        if not math.isfinite(self.target):
            raise ValueError(f"target {self.target!r} is not a finite number")
        if not (math.isfinite(self.tolerance) and self.tolerance >= 0):
            raise ValueError(f"tolerance {self.tolerance!r} is not a finite number >= 0")

    def met(self, value: float) -> bool:
        """True when `value` satisfies the comparison."""
        if self.comparison == "<":
            return value < self.target
        if self.comparison == "<=":
            return value <= self.target
        if self.comparison == ">":
            return value > self.target
        return value >= self.target

    def score(self, value: float) -> float:
        """1 when met; else linear from 1 at the target to 0 at `target ± tolerance` (a miss stays below 1)."""
        if self.met(value):
            return 1.0
        past = value - self.target if self.comparison in ("<", "<=") else self.target - value
        if self.tolerance == 0:
            return 0.0
        return min(_BELOW_ONE, max(0.0, 1.0 - past / self.tolerance))


def overall(scores: Iterable[float]) -> float | None:
    """The mean of the scores; None when there is none (no score is not a score of 0 or 1)."""
    values = list(scores)
    return sum(values) / len(values) if values else None


@dataclass(frozen=True)
class GoalOverride:
    """One `EXPORTER_GOALS` entry: a metric's new target/comparison/tolerance, or `goal is None`: off."""

    key: str
    comparison: Comparison | None = None  # None: the goal is switched off
    target: float = 0.0
    tolerance: float | None = None  # None: keep the registered tolerance
    entry: str = field(default="", compare=False)  # as written, for error messages

    def apply(self, registered: Goal | None, unit: str) -> Goal | None:
        """The goal this override gives a metric registered with `registered` and `unit`."""
        if self.comparison is None:
            return None
        tolerance = self.tolerance if self.tolerance is not None else (registered.tolerance if registered else 0.0)
        return Goal(self.target, self.comparison, unit, tolerance)


_ENTRY = re.compile(r"^(?P<key>[^<>=~\s]+)\s*(?P<op><=|>=|<|>|=)\s*(?P<rest>.*)$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def parse_overrides(text: str) -> tuple[GoalOverride, ...]:
    """Parse `EXPORTER_GOALS`; a ValueError names the metric and the entry at fault."""
    overrides: list[GoalOverride] = []
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        override = _parse_entry(entry)
        if any(seen.key == override.key for seen in overrides):
            raise ValueError(f"{override.key}: set twice (entry {entry!r})")
        overrides.append(override)
    return tuple(overrides)


def _parse_entry(entry: str) -> GoalOverride:
    match = _ENTRY.match(entry)
    if match is None:
        raise ValueError(f"entry {entry!r} is not KEY OP TARGET[~TOLERANCE] (OP one of <, <=, >, >=) or KEY=off")
    key, op, rest = match["key"], match["op"], match["rest"].strip()
    if op == "=":
        if rest.casefold() != "off":
            raise ValueError(f"{key}: entry {entry!r}: '=' only switches a goal off (KEY=off); use <, <=, > or >=")
        return GoalOverride(key, entry=entry)
    target_text, _, tolerance_text = rest.partition("~")
    target = _number(key, entry, "target", target_text)
    tolerance = None if "~" not in rest else _number(key, entry, "tolerance", tolerance_text)
    if tolerance is not None and tolerance < 0:
        raise ValueError(f"{key}: entry {entry!r}: tolerance {tolerance:g} is negative")
    comparison = next(c for c in COMPARISONS if c == op)
    return GoalOverride(key, comparison, target, tolerance, entry)


def _number(key: str, entry: str, what: str, text: str) -> float:
    text = text.strip()
    if not _NUMBER.match(text):
        raise ValueError(f"{key}: entry {entry!r}: {what} {text!r} is not a number")
    return float(text)
