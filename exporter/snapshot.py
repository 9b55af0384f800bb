"""What the exporter knows, frozen: the state after one refresh, which a scrape reads whole.

A refresh never changes a snapshot: `Snapshot.apply` folds its result into a new one, and the
collector swaps one reference. A reader that takes the reference once sees exactly one refresh.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from exporter.errors import Reason
from exporter.github.rate_limit import RateLimitSnapshot
from exporter.refresh import RefreshResult

SeriesKey = tuple[str, str]  # (metric key, repo)
ErrorKey = tuple[str, str, str]  # (repo, metric key, reason)


def _frozen(mapping: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class SeriesError:
    """The last failure of one series: its bounded reason, its message (no secret) and when."""

    reason: Reason | str
    message: str
    at: float


@dataclass(frozen=True)
class SeriesState:
    """One series as of one refresh: the value served, and how its metric last went."""

    key: str
    repo: str
    labels: Mapping[str, str]
    value: float | Mapping[str, float] | None = None  # the last good value (a mapping: split); None: no data
    value_at: float | None = None  # wall time that value was computed
    ok: bool = False  # the last refresh computed the metric (a value, or no data)
    last_success: float | None = None
    last_error: SeriesError | None = None  # kept after a later success, for a status page

    def served(self, now: float, max_staleness_seconds: float) -> bool:
        """True when there is a value young enough to serve at `now`."""
        return self.value is not None and self.value_at is not None and now - self.value_at <= max_staleness_seconds


_NO_SERIES: Mapping[SeriesKey, SeriesState] = MappingProxyType({})
_NO_ERRORS: Mapping[ErrorKey, int] = MappingProxyType({})


@dataclass(frozen=True)
class Snapshot:
    """Every series and the refresh counters after `refreshes` refreshes; never changed once built."""

    series: Mapping[SeriesKey, SeriesState] = field(default_factory=lambda: _NO_SERIES)
    errors: Mapping[ErrorKey, int] = field(default_factory=lambda: _NO_ERRORS)  # failures since start
    refreshes: int = 0
    last: RefreshResult | None = None
    finished_at: float | None = None  # wall time the last refresh was applied
    rate_limit: RateLimitSnapshot | None = None  # the latest GitHub reported

    def apply(self, result: RefreshResult, now: float) -> Snapshot:
        """A new snapshot with one refresh folded in: successes replace values (None drops the value),
        failures keep the last good value and count an error. A repository the refresh did not cover
        (no longer discovered, archived, cut by EXPORTER_MAX_REPOS, moved to another shard) loses its
        series and its error counters, so that the series stay bounded by the repositories watched now."""
        covered = frozenset(result.repos)
        series = {key: state for key, state in self.series.items() if state.repo in covered}
        errors = {key: count for key, count in self.errors.items() if key[0] in covered}
        for outcome in result.series:
            key = (outcome.key, outcome.repo)
            before = series.get(key) or SeriesState(outcome.key, outcome.repo, _frozen(outcome.labels))
            if outcome.ok:
                series[key] = replace(before, value=outcome.value, value_at=now, ok=True, last_success=now)
            else:
                reason = outcome.reason or "unknown"
                series[key] = replace(before, ok=False, last_error=SeriesError(reason, outcome.error or "", now))
                counted = (outcome.repo, outcome.key, reason)
                errors[counted] = errors.get(counted, 0) + 1
        return Snapshot(
            series=MappingProxyType(series),
            errors=MappingProxyType(errors),
            refreshes=self.refreshes + 1,
            last=result,
            finished_at=now,
            rate_limit=result.rate_limit if result.rate_limit is not None else self.rate_limit,
        )

    def served(self, now: float, max_staleness_seconds: float) -> dict[SeriesKey, SeriesState]:
        """The series with a value young enough to serve at `now`."""
        return {key: state for key, state in self.series.items() if state.served(now, max_staleness_seconds)}
