"""One refresh: every registered metric over every repository, each series isolated."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from exporter import tracing
from exporter.errors import Reason, SourceError
from exporter.github.discovery import DiscoveryStatus
from exporter.github.pacing import PacingStats
from exporter.github.rate_limit import RateLimitSnapshot
from exporter.metrics.registry import MetricRegistry, MetricSpec
from exporter.metrics.repo_data import RepoData
from exporter.settings import Settings

logger = logging.getLogger(__name__)


# The repositories one refresh covers, asked at the start of each refresh: EXPORTER_REPOS with its
# accounts' repositories (exporter/github/discovery.py), filtered to this shard's (exporter/sharding.py),
# as `exporter.cli.build` wires it.
RepoSet = Callable[[], Sequence[str]]


class RepoSource(Protocol):
    """Where per-refresh repository data comes from (`GitHubSource` in production)."""

    def session(self, repo: str, now: datetime, deadline: float) -> RepoData: ...

    def begin_refresh(self) -> None: ...

    def watch(self, repos: Sequence[str]) -> None: ...

    def data_ages(self, repos: Sequence[str], now: float) -> Mapping[str, float]: ...

    def pacing_stats(self) -> PacingStats | None: ...

    def secret_read_errors(self) -> Mapping[str, int]: ...

    def rate_limit_snapshot(self) -> RateLimitSnapshot | None: ...


@dataclass(frozen=True)
class SeriesResult:
    """The outcome of one metric for one repository in one refresh."""

    key: str
    repo: str
    labels: Mapping[str, str]
    value: float | Mapping[str, float] | None = None  # a mapping for a split metric (MetricSpec.split)
    reason: Reason | None = None
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the metric computed (a value, or no data)."""
        return self.reason is None


@dataclass(frozen=True)
class RefreshResult:
    """Everything one refresh produced."""

    started_at: datetime
    seconds: float
    series: tuple[SeriesResult, ...] = field(default=())
    repo_seconds: Mapping[str, float] = field(default_factory=dict)
    rate_limit: RateLimitSnapshot | None = None  # GitHub's core limit as reported at the end
    secret_read_errors: Mapping[str, int] = field(default_factory=dict)  # failed reads of the token's secret
    repos: tuple[str, ...] = ()  # the repositories this refresh covered (this shard's)
    discovery: DiscoveryStatus | None = None  # the accounts' lists as of this refresh (None: no discovery wired)
    # For each kind of data (exporter/changes.py), how long ago the least recently confirmed repository's was
    # read or confirmed unchanged, at the refresh's end.
    data_ages: Mapping[str, float] = field(default_factory=dict)
    pacing: PacingStats | None = None  # what the GitHub source's pacer did since start, at the refresh's end

    @property
    def failed(self) -> tuple[SeriesResult, ...]:
        """The series whose metric failed."""
        return tuple(s for s in self.series if not s.ok)


def series_labels(spec: MetricSpec, settings: Settings, repo: str) -> dict[str, str]:
    """The label values of one series (bounded: configuration only, never data)."""
    known = {"repo": repo, "branch": settings.branch, "workflow": settings.ci_workflow}
    split = spec.split.label if spec.split is not None else None
    return {label: known[label] for label in spec.labels if label != split}  # a split's label comes with each value


class Refresher:
    """Runs a refresh with bounded concurrency across repositories."""

    def __init__(
        self,
        settings: Settings,
        registry: MetricRegistry,
        source: RepoSource,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
        stopping: threading.Event | None = None,
        repos: RepoSet | None = None,
        discovery: Callable[[], DiscoveryStatus] | None = None,
    ) -> None:
        self._settings = settings
        self._repos = repos if repos is not None else lambda: settings.repos
        self._discovery = discovery
        # A metric EXPORTER_METRICS_DISABLED names is never computed, even in a registry not `configured`.
        disabled = set(settings.metrics_disabled)
        self._registry = MetricRegistry(spec for spec in registry if spec.key not in disabled)
        self._source = source
        self._clock = clock
        self._monotonic = monotonic
        # Set when the exporter shuts down: repositories not started are skipped (the source stops
        # paging too when it shares the event).
        self._stopping = stopping if stopping is not None else threading.Event()

    @tracing.trace(name="exporter.refresh")
    def __call__(self) -> RefreshResult:
        """Refresh every repository; never raises for a GitHub or metric failure."""
        started_at = self._clock()
        start = self._monotonic()
        deadline = start + self._settings.refresh_deadline_seconds
        self._source.begin_refresh()
        repos = tuple(self._repos())
        self._source.watch(repos)
        workers = max(1, min(self._settings.github_concurrency, len(repos)))  # a shard may own none
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="refresh") as pool:
            outcomes = list(pool.map(lambda repo: self._refresh_repo(repo, started_at, deadline), repos))
        series = tuple(result for results, _ in outcomes for result in results)
        result = RefreshResult(
            started_at=started_at,
            seconds=self._monotonic() - start,
            series=series,
            repo_seconds={repo: seconds for repo, (_, seconds) in zip(repos, outcomes, strict=True)},
            rate_limit=self._source.rate_limit_snapshot(),
            secret_read_errors=self._source.secret_read_errors(),
            repos=repos,
            discovery=self._discovery() if self._discovery is not None else None,
            data_ages=self._source.data_ages(repos, started_at.timestamp() + self._monotonic() - start),
            pacing=self._source.pacing_stats(),
        )
        if self._stopping.is_set():
            logger.info("refresh stopped early: the exporter is shutting down (series failed with reason shutdown)")
        logger.info(
            "refresh of %d repositories took %.2fs, %d of %d series failed",
            len(repos),
            result.seconds,
            len(result.failed),
            len(series),
        )
        return result

    def _refresh_repo(self, repo: str, now: datetime, deadline: float) -> tuple[list[SeriesResult], float]:
        if self._stopping.is_set():  # not started: fails quietly, one line for all in __call__
            message = "the exporter is shutting down: repository not refreshed"
            return [
                SeriesResult(spec.key, repo, series_labels(spec, self._settings, repo), None, "shutdown", message)
                for spec in self._registry
            ], 0.0
        with tracing.span("exporter.repo", resource=repo, tags={"repo": repo}) as span:
            start = self._monotonic()
            try:
                data: RepoData | None = self._source.session(repo, now, deadline)
                setup_error: SourceError | None = None
            except SourceError as exc:  # a session that cannot start fails this repository's series only
                data, setup_error = None, exc
                span.record_error(exc)
            results = [self._compute(spec, repo, data, setup_error) for spec in self._registry]
            _log_failures(repo, results)
            failed = sorted({result.reason or "" for result in results if not result.ok})
            if failed and setup_error is None:
                span.mark_error(f"metrics failed: {', '.join(failed)}")
            return results, self._monotonic() - start

    def _compute(
        self, spec: MetricSpec, repo: str, data: RepoData | None, setup_error: SourceError | None
    ) -> SeriesResult:
        labels = series_labels(spec, self._settings, repo)
        with tracing.span("exporter.metric", resource=spec.key, tags={"metric": spec.key, "repo": repo}) as span:
            start = self._monotonic()
            try:
                if setup_error is not None:
                    raise setup_error
                assert data is not None
                value = _checked(spec, spec.function(data))
            except SourceError as exc:  # logged once per repository and error by _log_failures
                span.record_error(exc)
                span.set_tag("exporter.reason", exc.reason)
                return SeriesResult(spec.key, repo, labels, None, exc.reason, str(exc), self._monotonic() - start)
            except Exception as exc:  # a bug in one metric must not take down the others
                logger.exception("%s for %s raised %s", spec.key, repo, type(exc).__name__)
                span.record_error(exc)
                span.set_tag("exporter.reason", "metric_error")
                message = f"{type(exc).__name__} in metric function"
                return SeriesResult(spec.key, repo, labels, None, "metric_error", message, self._monotonic() - start)
            return SeriesResult(spec.key, repo, labels, value, None, None, self._monotonic() - start)


def _checked(spec: MetricSpec, value: object) -> float | Mapping[str, float] | None:
    """The function's answer, as its registration promises: a number or None, or for a split metric a
    mapping from declared split values to numbers (an empty one is "no data")."""
    if spec.split is None:
        if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
            return None if value is None else float(value)
        raise TypeError(f"{spec.key} returned a {type(value).__name__}, not a number or None")
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise TypeError(f"{spec.key} is split by {spec.split.label} and returned a {type(value).__name__}")
    unknown = [key for key in value if key not in spec.split.values]
    if unknown:
        raise ValueError(f"{spec.key} returned {spec.split.label} values it did not declare: {unknown[:5]}")
    ordered = {key: float(value[key]) for key in spec.split.values if key in value}
    return ordered or None


def _log_failures(repo: str, results: list[SeriesResult]) -> None:
    """One warning per repository and reason, with the first error's message (metrics that share a
    failed dataset, or a refusal that follows it, share a line)."""
    by_reason: dict[str, tuple[list[str], str]] = {}
    for result in results:
        if not result.ok and result.reason != "metric_error":  # a metric bug is logged with its traceback
            keys, _ = by_reason.setdefault(result.reason or "", ([], result.error or ""))
            keys.append(result.key)
    for reason, (keys, error) in by_reason.items():
        logger.warning("%s: %s failed (%s): %s", repo, ", ".join(keys), reason, error)
