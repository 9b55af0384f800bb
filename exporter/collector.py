"""The prometheus-client collector: serves the current snapshot, refreshing lazily, one refresh at a time."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

from exporter import __version__, catalog, changes
from exporter.changes import KINDS, ChangeSignals, Kind
from exporter.exposition import Encoder, Rendered, render
from exporter.metrics.registry import MetricRegistry
from exporter.metrics.scores import goal_families
from exporter.refresh import RefreshResult
from exporter.settings import Settings
from exporter.snapshot import SeriesKey, SeriesState, Snapshot

logger = logging.getLogger(__name__)

_MAX_RENDERS = 8  # content types cached per refresh (the Accept header is the client's to vary)


@dataclass(frozen=True)
class _Cached:
    """One rendered exposition, and the value times between which it serves the right series: it was
    rendered with every value newer than `oldest_served` and none as old as `newest_dropped`."""

    rendered: Rendered
    oldest_served: float | None
    newest_dropped: float | None

    def serves_the_same_series(self, now: float, max_staleness_seconds: float) -> bool:
        """True while no served value has grown too old (and no dropped one has become young again)."""
        return (self.oldest_served is None or now - self.oldest_served <= max_staleness_seconds) and (
            self.newest_dropped is None or now - self.newest_dropped > max_staleness_seconds
        )


class _View:
    """A snapshot and its expositions, rendered on demand, at most one per content type."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.renders: dict[str, _Cached] = {}  # read without the lock: one dict lookup is atomic
        self.render_lock = threading.Lock()  # many scrapes right after a refresh render once


class HealthCollector(Collector):
    """Serves the snapshot; a scrape after the TTL starts a refresh and waits for it a bounded time.

    The refresh thread builds each new snapshot and swaps one reference; every reader takes that
    reference once, so a scrape serves exactly one refresh, whatever runs meanwhile.
    """

    def __init__(
        self,
        settings: Settings,
        registry: MetricRegistry,
        refresher: Callable[[], RefreshResult],
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        stopping: threading.Event | None = None,
        signals: ChangeSignals | None = None,
    ) -> None:
        self._settings = settings
        self._registry = registry
        self._refresher = refresher
        self._wall = wall
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._running: Future[RefreshResult] | None = None
        self._refreshed_at: float | None = None  # monotonic time the last refresh started
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="refresh-runner")
        self._view = _View(Snapshot())
        self.refreshes_started = 0
        # Repositories marked changed (by webhooks) and not read since: shared with the source, which takes a
        # repository's marks when it reads it (so a mark made during a refresh, after that read, is kept).
        self._signals = signals if signals is not None else ChangeSignals()
        self._deliveries: Counter[tuple[str, str]] = Counter()  # webhook deliveries by (event, outcome)
        # Set when the exporter shuts down (by `close()`, or earlier by the server): waiters stop waiting,
        # no new refresh starts, and the refresh stops when it shares the event (`exporter.cli.build` wires it so).
        self.stopping = stopping if stopping is not None else threading.Event()

    @property
    def snapshot(self) -> Snapshot:
        """What the exporter knows now: read it once, it never changes."""
        return self._view.snapshot

    @property
    def metrics(self) -> MetricRegistry:
        """The metrics it serves (as configured: disabled ones left out, goal overrides applied)."""
        return self._registry

    def now(self) -> float:
        """Wall time on the collector's clock, the one the snapshot's times are on."""
        return self._wall()

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
        """Start (or join) a refresh when the cache is older than the TTL; None when it is fresh, or
        when the exporter is shutting down (a scrape then serves what it has)."""
        if self._fresh() or self.stopping.is_set():
            return None
        return self.refresh()

    def _fresh(self) -> bool:
        """Refreshed within the TTL, no refresh running (a scrape would join it) and no change marked since."""
        with self._lock:
            return (
                self._running is None
                and not self._signals
                and self._refreshed_at is not None
                and self._monotonic() - self._refreshed_at < self._settings.cache_ttl_seconds
            )

    # --- webhooks ---------------------------------------------------------------------------

    def watches(self, repo: str) -> bool:
        """True when the last refresh covered `repo` (any case): a change to it is worth a refresh."""
        last = self.snapshot.last
        return last is not None and repo.casefold() in {name.casefold() for name in last.repos}

    def mark_changed(self, repo: str, kinds: Iterable[Kind] = KINDS) -> None:
        """`repo`'s `kinds` of data changed on GitHub: the cache is stale until a refresh reads them."""
        self._signals.mark(repo, kinds)

    @property
    def pending_changes(self) -> dict[str, frozenset[Kind]]:
        """Repositories marked changed that no refresh has read since, with the kinds marked."""
        return self._signals.pending()

    def record_delivery(self, event: str, outcome: str) -> None:
        """Count one webhook delivery (bounded labels: the caller maps anything else to `other`)."""
        with self._lock:
            self._deliveries[(event, outcome)] += 1
        self._view = _View(self._view.snapshot)  # the rendered expositions no longer show every delivery

    def _run_refresh(self) -> RefreshResult:
        # The TTL counts from the refresh's start, when its reads began: a refresh paced over most of an
        # interval (exporter/github/pacing.py) leaves the cache due again at the next scrape.
        started = self._monotonic()
        try:
            result = self._refresher()
            self._view = _View(self._view.snapshot.apply(result, self._wall()))
            return result
        except Exception:
            logger.exception("refresh failed unexpectedly")
            raise
        finally:
            with self._lock:
                self._refreshed_at = started
                self._running = None

    def _wait_if_stale(self) -> None:
        """Refresh first when the cache is stale, waiting at most EXPORTER_SCRAPE_WAIT_SECONDS."""
        pending = self.refresh_if_stale()
        if pending is None:
            return
        try:
            pending.result(timeout=self._settings.scrape_wait_seconds)
        except FutureTimeout:
            logger.info("refresh still running after %.1fs; serving the cache", self._settings.scrape_wait_seconds)
        except Exception:  # already logged by the refresh thread; the cache is still good
            logger.debug("serving the cache after a failed refresh")

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

    # --- the /metrics body ------------------------------------------------------------------

    def fresh_exposition(self, content_type: str) -> bytes | None:
        """The body of a scrape that needs neither a wait nor a render, else None: the cache is
        fresh and its exposition in `content_type` is rendered and still serves the same series."""
        if not self._fresh():
            return None
        cached = self._view.renders.get(content_type)
        now = self._wall()
        if cached is None or not cached.serves_the_same_series(now, self._settings.max_staleness_seconds):
            return None
        return cached.rendered.body(now)

    def exposition(self, encoder: Encoder, content_type: str) -> bytes:
        """The body of a scrape, as `encoder` writes this collector's families: after a bounded wait
        for a refresh when the cache is stale; rendered once per refresh and content type."""
        self._wait_if_stale()
        view = self._view
        now = self._wall()
        staleness = self._settings.max_staleness_seconds
        cached = view.renders.get(content_type)
        if cached is None or not cached.serves_the_same_series(now, staleness):
            with view.render_lock:
                cached = view.renders.get(content_type)
                if cached is None or not cached.serves_the_same_series(now, staleness):
                    cached = self._render(view.snapshot, encoder, now)
                    if content_type in view.renders or len(view.renders) < _MAX_RENDERS:
                        view.renders[content_type] = cached
        return cached.rendered.body(now)

    def _render(self, snapshot: Snapshot, encoder: Encoder, now: float) -> _Cached:
        def since(sample: Sample) -> float:
            value_at = snapshot.series[(sample.labels["metric"], sample.labels["repo"])].value_at
            assert value_at is not None  # only served series have an age
            return value_at

        families = list(self._families(snapshot, now, with_samples=True))
        rendered = render(families, encoder, catalog.METRIC_VALUE_AGE.name, since)
        staleness = self._settings.max_staleness_seconds
        served: list[float] = []
        dropped: list[float] = []
        for state in snapshot.series.values():
            if state.value is not None and state.value_at is not None:
                (served if state.served(now, staleness) else dropped).append(state.value_at)
        return _Cached(rendered, min(served, default=None), max(dropped, default=None))

    # --- prometheus_client Collector -------------------------------------------------------

    def describe(self) -> Iterator[Metric]:
        """The families, empty: registering the collector computes nothing."""
        yield from self._families(Snapshot(), self._wall(), with_samples=False)

    def collect(self) -> Iterator[Metric]:
        """Serve the snapshot, refreshing first (bounded by EXPORTER_SCRAPE_WAIT_SECONDS) when stale."""
        self._wait_if_stale()
        yield from self._families(self.snapshot, self._wall(), with_samples=True)

    def _families(self, snapshot: Snapshot, now: float, with_samples: bool) -> Iterator[Metric]:
        served = snapshot.served(now, self._settings.max_staleness_seconds) if with_samples else {}
        for spec in self._registry:
            family = GaugeMetricFamily(spec.name, spec.description, labels=list(spec.labels))
            for (key, _repo), state in served.items():
                if key != spec.key or state.value is None:
                    continue
                base = [state.labels[label] for label in spec.labels if label in state.labels]  # all but a split's
                if isinstance(state.value, Mapping):  # a split metric: one sample per split value
                    for split_value, number in state.value.items():
                        family.add_metric([*base, split_value], number)
                else:
                    family.add_metric(base, state.value)
            yield family
        yield from goal_families(served.values(), self._registry)
        yield from self._health_families(snapshot, now, served, with_samples)
        yield from self._rate_limit_families(snapshot, with_samples)
        yield self._secret_read_errors_family(snapshot, with_samples)
        yield from self._shard_families(snapshot, with_samples)
        yield from self._discovery_families(snapshot, with_samples)
        yield self._webhook_family(with_samples)
        yield from self._freshness_families(snapshot, with_samples)
        yield from self._pacing_families(snapshot, with_samples)

    def _pacing_families(self, snapshot: Snapshot, with_samples: bool) -> Iterator[Metric]:
        """How the GitHub source paced its requests since start, as of the last refresh's end (no sample
        before one, or without a pacer)."""
        c = catalog
        paced = CounterMetricFamily(c.GITHUB_PACED_REQUESTS.name, c.GITHUB_PACED_REQUESTS.description)
        waited = CounterMetricFamily(c.GITHUB_PACING_WAIT.name, c.GITHUB_PACING_WAIT.description)
        peak = GaugeMetricFamily(c.GITHUB_IN_FLIGHT_PEAK.name, c.GITHUB_IN_FLIGHT_PEAK.description)
        stats = snapshot.last.pacing if snapshot.last is not None else None
        if with_samples and stats is not None:
            paced.add_metric([], float(stats.paced))
            waited.add_metric([], stats.wait_seconds)
            peak.add_metric([], float(stats.peak_in_flight))
        yield from (paced, waited, peak)

    def _webhook_family(self, with_samples: bool) -> Metric:
        """Webhook deliveries since start, by event and outcome."""
        entry = catalog.WEBHOOK_DELIVERIES
        family = CounterMetricFamily(entry.name, entry.description, labels=list(entry.labels))
        if with_samples:
            with self._lock:
                counts = sorted(self._deliveries.items())
            for (event, outcome), count in counts:
                family.add_metric([event, outcome], float(count))
        return family

    def _freshness_families(self, snapshot: Snapshot, with_samples: bool) -> Iterator[Metric]:
        """How old each kind of data is at most (as of the last refresh), and the bound it is kept within."""
        age = GaugeMetricFamily(catalog.DATA_AGE.name, catalog.DATA_AGE.description, labels=["kind"])
        bound = GaugeMetricFamily(catalog.DATA_BOUND.name, catalog.DATA_BOUND.description, labels=["kind"])
        if with_samples:
            ages = snapshot.last.data_ages if snapshot.last is not None else {}
            for kind in KINDS:
                if kind in ages:
                    age.add_metric([kind], ages[kind])
                watched = len(snapshot.last.repos) if snapshot.last is not None else len(self._settings.repos)
                bound.add_metric([kind], changes.bound(kind, self._settings, watched))
        yield age
        yield bound

    def _health_families(
        self, snapshot: Snapshot, now: float, served: dict[SeriesKey, SeriesState], with_samples: bool
    ) -> Iterator[Metric]:
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
            for (key, repo), state in snapshot.series.items():
                success.add_metric([repo, key], 1.0 if state.ok else 0.0)
                if state.last_success is not None:
                    last_ok.add_metric([repo, key], state.last_success)
                if (key, repo) in served and state.value_at is not None:
                    age.add_metric([repo, key], max(0.0, now - state.value_at))
            for (repo, key, reason), count in sorted(snapshot.errors.items()):
                errors.add_metric([repo, key, reason], float(count))
            refreshes.add_metric([], float(snapshot.refreshes))
            last = snapshot.last
            if last is not None and snapshot.finished_at is not None:
                duration.add_metric([], last.seconds)
                last_refresh.add_metric([], snapshot.finished_at)
                for repo, seconds in last.repo_seconds.items():
                    repo_duration.add_metric([repo], seconds)
        yield from (info, success, last_ok, age, errors, refreshes, duration, repo_duration, last_refresh)

    def _rate_limit_families(self, snapshot: Snapshot, with_samples: bool) -> Iterator[Metric]:
        """GitHub's core rate limit as last reported; no sample until GitHub has reported it."""
        reported = snapshot.rate_limit if with_samples else None
        for entry, value in (
            (catalog.RATE_LIMIT_LIMIT, reported.limit if reported else None),
            (catalog.RATE_LIMIT_REMAINING, reported.remaining if reported else None),
            (catalog.RATE_LIMIT_RESET, reported.reset if reported else None),
        ):
            family = GaugeMetricFamily(entry.name, entry.description)
            if value is not None:
                family.add_metric([], float(value))
            yield family

    def _secret_read_errors_family(self, snapshot: Snapshot, with_samples: bool) -> Metric:
        """Failed reads of the token's secret by reason, as counted at the end of the last refresh."""
        entry = catalog.SECRET_READ_ERRORS
        family = CounterMetricFamily(entry.name, entry.description, labels=list(entry.labels))
        last = snapshot.last if with_samples else None
        for reason, count in sorted(last.secret_read_errors.items() if last is not None else ()):
            family.add_metric([reason], float(count))
        return family

    def _shard_families(self, snapshot: Snapshot, with_samples: bool) -> Iterator[Metric]:
        """Which shard this is (from settings), and how many repositories its last refresh covered."""
        shard, shards = str(self._settings.shard_index), str(self._settings.shards)
        info = InfoMetricFamily(catalog.SHARD.name, catalog.SHARD.description)
        entry = catalog.SHARD_REPOSITORIES
        owned = GaugeMetricFamily(entry.name, entry.description, labels=list(entry.labels))
        last = snapshot.last if with_samples else None
        if with_samples:
            info.add_metric([], {"shard": shard, "shards": shards})
        if last is not None:
            owned.add_metric([shard], float(len(last.repos)))
        yield from (info, owned)

    def _discovery_families(self, snapshot: Snapshot, with_samples: bool) -> Iterator[Metric]:
        """Each account's list and failed listings, and the repositories EXPORTER_MAX_REPOS left out."""
        c = catalog
        discovered = GaugeMetricFamily(
            c.DISCOVERED_REPOSITORIES.name, c.DISCOVERED_REPOSITORIES.description, labels=["source"]
        )
        listed_at = GaugeMetricFamily(c.LAST_DISCOVERY.name, c.LAST_DISCOVERY.description, labels=["source"])
        errors = CounterMetricFamily(
            c.DISCOVERY_ERRORS.name, c.DISCOVERY_ERRORS.description, labels=["source", "reason"]
        )
        cut = GaugeMetricFamily(c.REPOSITORIES_CUT.name, c.REPOSITORIES_CUT.description)
        status = snapshot.last.discovery if with_samples and snapshot.last is not None else None
        if status is not None:
            for source in status.sources:
                if source.repositories is not None:
                    discovered.add_metric([source.source], float(source.repositories))
                if source.listed_at is not None:
                    listed_at.add_metric([source.source], source.listed_at)
                for reason, count in sorted(source.errors.items()):
                    errors.add_metric([source.source, reason], float(count))
            cut.add_metric([], float(status.cut))
        yield from (discovered, listed_at, errors, cut)
