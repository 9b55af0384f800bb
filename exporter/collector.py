"""The prometheus-client collector: serves cached values, refreshing lazily, one refresh at a time."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector

from exporter import __version__, catalog
from exporter.github.rate_limit import RateLimitSnapshot
from exporter.metrics.registry import MetricRegistry
from exporter.refresh import RefreshResult
from exporter.settings import Settings

logger = logging.getLogger(__name__)

SeriesKey = tuple[str, str]  # (metric key, repo)


@dataclass
class _Series:
    labels: dict[str, str]
    value: float | Mapping[str, float] | None = None
    value_at: float | None = None  # wall time the value was computed
    ok: bool = False
    last_success: float | None = None


class SeriesCache:
    """What the exporter knows: the last good value of each series and how each refresh went."""

    def __init__(self, max_staleness_seconds: float) -> None:
        self.max_staleness_seconds = max_staleness_seconds
        self.series: dict[SeriesKey, _Series] = {}
        self.errors: dict[tuple[str, str, str], int] = {}
        self.refreshes = 0
        self.last: RefreshResult | None = None
        self.last_finished_at: float | None = None
        self.rate_limit: RateLimitSnapshot | None = None  # the latest GitHub reported

    def apply(self, result: RefreshResult, now: float) -> None:
        """Fold one refresh in: successes replace values (None drops the series), failures keep them."""
        for outcome in result.series:
            state = self.series.setdefault((outcome.key, outcome.repo), _Series(dict(outcome.labels)))
            state.ok = outcome.ok
            if outcome.ok:
                state.value, state.value_at, state.last_success = outcome.value, now, now
            else:
                key = (outcome.repo, outcome.key, outcome.reason or "unknown")
                self.errors[key] = self.errors.get(key, 0) + 1
        self.refreshes += 1
        self.last = result
        self.last_finished_at = now
        if result.rate_limit is not None:
            self.rate_limit = result.rate_limit

    def served(self, now: float) -> Iterator[tuple[SeriesKey, _Series]]:
        """Series with a value young enough to serve."""
        for key, state in self.series.items():
            if state.value is None or state.value_at is None:
                continue
            if now - state.value_at > self.max_staleness_seconds:
                continue
            yield key, state


class HealthCollector(Collector):
    """Serves the cache; a scrape after the TTL starts a refresh and waits for it a bounded time."""

    def __init__(
        self,
        settings: Settings,
        registry: MetricRegistry,
        refresher: Callable[[], RefreshResult],
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        stopping: threading.Event | None = None,
    ) -> None:
        self._settings = settings
        self._registry = registry
        self._refresher = refresher
        self._wall = wall
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._running: Future[RefreshResult] | None = None
        self._refreshed_at: float | None = None  # monotonic time the last refresh finished
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="refresh-runner")
        self.cache = SeriesCache(settings.max_staleness_seconds)
        self.refreshes_started = 0
        # Set when the exporter shuts down (by `close()`, or earlier by the server): waiters stop waiting,
        # and the refresh stops when it shares the event (`exporter.cli.build` wires it so).
        self.stopping = stopping if stopping is not None else threading.Event()

    # --- refreshing -------------------------------------------------------------------------

    def refresh(self) -> Future[RefreshResult]:
        """Start a refresh, or join the one already running."""
        with self._lock:
            if self._running is None:
                self.refreshes_started += 1
                self._running = self._executor.submit(self._run_refresh)
            return self._running

    @property
    def refreshing(self) -> bool:
        """True while a refresh runs."""
        with self._lock:
            return self._running is not None

    def refresh_if_stale(self) -> Future[RefreshResult] | None:
        """Start (or join) a refresh when the cache is older than the TTL; None when it is fresh."""
        with self._lock:
            fresh = (
                self._refreshed_at is not None
                and self._monotonic() - self._refreshed_at < self._settings.cache_ttl_seconds
            )
            if fresh and self._running is None:
                return None
        return self.refresh()

    def _run_refresh(self) -> RefreshResult:
        try:
            result = self._refresher()
            self.cache.apply(result, self._wall())
            return result
        except Exception:
            logger.exception("refresh failed unexpectedly")
            raise
        finally:
            with self._lock:
                self._refreshed_at = self._monotonic()
                self._running = None

    def close(self, wait_seconds: float = 0.0) -> None:
        """Stop: set `stopping`, wait up to `wait_seconds` for a running refresh to end, end the refresh thread."""
        self.stopping.set()
        with self._lock:
            running = self._running
        if running is not None and wait_seconds > 0:
            with contextlib.suppress(Exception):
                running.result(timeout=wait_seconds)
        self._executor.shutdown(wait=False, cancel_futures=True)
        if running is not None and not running.done():
            logger.warning("collector stopped; its refresh still waits on GitHub after %.0fs", wait_seconds)
        else:
            logger.info("collector stopped")

    # --- prometheus_client Collector -------------------------------------------------------

    def describe(self) -> Iterator[Metric]:
        """The families, empty: registering the collector computes nothing."""
        yield from self._families(with_samples=False)

    def collect(self) -> Iterator[Metric]:
        """Serve the cache, refreshing first (bounded by EXPORTER_SCRAPE_WAIT_SECONDS) when stale."""
        pending = self.refresh_if_stale()
        if pending is not None:
            try:
                pending.result(timeout=self._settings.scrape_wait_seconds)
            except FutureTimeout:
                logger.info("refresh still running after %.1fs; serving the cache", self._settings.scrape_wait_seconds)
            except Exception:  # already logged by the refresh thread; the cache is still good
                logger.debug("serving the cache after a failed refresh")
        yield from self._families(with_samples=True)

    def _families(self, with_samples: bool) -> Iterator[Metric]:
        now = self._wall()
        served = dict(self.cache.served(now)) if with_samples else {}
        for spec in self._registry:
            family = GaugeMetricFamily(spec.name, spec.description, labels=list(spec.labels))
            for (key, _repo), state in served.items():
                if key == spec.key and state.value is not None:
                    base = [
                        state.labels[label] for label in spec.labels if spec.split is None or label != spec.split.label
                    ]
                    if isinstance(state.value, Mapping):  # a split metric: one sample per split value
                        for split_value, number in state.value.items():
                            family.add_metric([*base, split_value], number)
                    else:
                        family.add_metric(base, state.value)
            yield family
        yield from self._health_families(now, served, with_samples)
        yield from self._rate_limit_families(with_samples)
        yield self._secret_read_errors_family(with_samples)
        yield from self._shard_families(with_samples)

    def _health_families(self, now: float, served: dict[SeriesKey, _Series], with_samples: bool) -> Iterator[Metric]:
        c = catalog
        info = InfoMetricFamily(c.INFO.name, c.INFO.description)
        success = GaugeMetricFamily(c.METRIC_SUCCESS.name, c.METRIC_SUCCESS.description, labels=["repo", "metric"])
        last_ok = GaugeMetricFamily(
            c.METRIC_LAST_SUCCESS.name, c.METRIC_LAST_SUCCESS.description, labels=["repo", "metric"]
        )
        age = GaugeMetricFamily(c.METRIC_VALUE_AGE.name, c.METRIC_VALUE_AGE.description, labels=["repo", "metric"])
        errors = CounterMetricFamily(
            c.REFRESH_ERRORS.name, c.REFRESH_ERRORS.description, labels=["repo", "metric", "reason"]
        )
        refreshes = CounterMetricFamily(c.REFRESHES.name, c.REFRESHES.description)
        duration = GaugeMetricFamily(c.REFRESH_DURATION.name, c.REFRESH_DURATION.description)
        repo_duration = GaugeMetricFamily(
            c.REPO_REFRESH_DURATION.name, c.REPO_REFRESH_DURATION.description, labels=["repo"]
        )
        last_refresh = GaugeMetricFamily(c.LAST_REFRESH.name, c.LAST_REFRESH.description)
        if with_samples:
            info.add_metric(
                [],
                {"version": __version__, "service": self._settings.dd_service, "env": self._settings.dd_env},
            )
            for (key, repo), state in self.cache.series.items():
                success.add_metric([repo, key], 1.0 if state.ok else 0.0)
                if state.last_success is not None:
                    last_ok.add_metric([repo, key], state.last_success)
                if (key, repo) in served and state.value_at is not None:
                    age.add_metric([repo, key], max(0.0, now - state.value_at))
            for (repo, key, reason), count in sorted(self.cache.errors.items()):
                errors.add_metric([repo, key, reason], float(count))
            refreshes.add_metric([], float(self.cache.refreshes))
            last = self.cache.last
            if last is not None and self.cache.last_finished_at is not None:
                duration.add_metric([], last.seconds)
                last_refresh.add_metric([], self.cache.last_finished_at)
                for repo, seconds in last.repo_seconds.items():
                    repo_duration.add_metric([repo], seconds)
        yield from (info, success, last_ok, age, errors, refreshes, duration, repo_duration, last_refresh)

    def _rate_limit_families(self, with_samples: bool) -> Iterator[Metric]:
        """GitHub's core rate limit as last reported; no sample until GitHub has reported it."""
        snapshot = self.cache.rate_limit if with_samples else None
        for entry, value in (
            (catalog.RATE_LIMIT_LIMIT, snapshot.limit if snapshot else None),
            (catalog.RATE_LIMIT_REMAINING, snapshot.remaining if snapshot else None),
            (catalog.RATE_LIMIT_RESET, snapshot.reset if snapshot else None),
        ):
            family = GaugeMetricFamily(entry.name, entry.description)
            if value is not None:
                family.add_metric([], float(value))
            yield family

    def _secret_read_errors_family(self, with_samples: bool) -> Metric:
        """Failed reads of the token's secret by reason, as counted at the end of the last refresh."""
        entry = catalog.SECRET_READ_ERRORS
        family = CounterMetricFamily(entry.name, entry.description, labels=list(entry.labels))
        last = self.cache.last if with_samples else None
        for reason, count in sorted(last.secret_read_errors.items() if last is not None else ()):
            family.add_metric([reason], float(count))
        return family

    def _shard_families(self, with_samples: bool) -> Iterator[Metric]:
        """Which shard this is (from settings), and how many repositories its last refresh covered."""
        shard, shards = str(self._settings.shard_index), str(self._settings.shards)
        info = InfoMetricFamily(catalog.SHARD.name, catalog.SHARD.description)
        entry = catalog.SHARD_REPOSITORIES
        owned = GaugeMetricFamily(entry.name, entry.description, labels=list(entry.labels))
        last = self.cache.last if with_samples else None
        if with_samples:
            info.add_metric([], {"shard": shard, "shards": shards})
        if last is not None:
            owned.add_metric([shard], float(len(last.repos)))
        yield from (info, owned)
