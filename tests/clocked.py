"""An exporter wired as `exporter.cli.build` wires it, on one clock the test moves (the fake GitHub's too).

Rate limits, Retry-After, the cache TTL and value ages are about time: with the collector, the
rate-limit state and the fake GitHub reading the same `Clock`, a test moves past a reset or a TTL
by changing a number, never by sleeping (only durations and deadlines stay on the real clock).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from exporter.collector import HealthCollector
from exporter.demo import FakeGitHub
from exporter.github.credentials import Credentials, TokenProvider
from exporter.github.discovery import Discovery, RepoLister
from exporter.github.source import GitHubSource
from exporter.metrics.registry import default_registry
from exporter.refresh import Refresher
from exporter.settings import Settings
from exporter.web.app import create_app
from tests.conftest import NOW, settings_for


class Clock:
    """Unix time that moves only when the test says so."""

    def __init__(self, start: datetime = NOW) -> None:
        self.now = start.timestamp()

    def __call__(self) -> float:
        return self.now

    def datetime(self) -> datetime:
        return datetime.fromtimestamp(self.now, UTC)

    def advance(self, seconds: float) -> None:
        self.now += seconds


class SimulatedTime:
    """Seconds that pass only when someone sleeps: `sleep(d)` moves this clock on by `d` at once.

    For the GitHub source's pacer when a test is not about pacing (its own clock, so the fake's does not
    move), or as the pacer's clock when it is."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += max(0.0, seconds)


class Scrape:
    """One /metrics answer, with its samples parsed (reading them does not scrape again)."""

    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.text = response.text
        self._samples = {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples
        }

    def value(self, name: str, **labels: str) -> float | None:
        """The sample `name{labels}`, or None when the answer has no such series."""
        return self._samples.get((name, frozenset(labels.items())))


class ClockedExporter:
    """Settings → GitHub source (and discovery) → refresher → collector → registry → app, all on `clock`."""

    def __init__(
        self,
        fake: FakeGitHub,
        clock: Clock,
        tokens: Credentials | None = None,
        pacing_clock: Callable[[], float] | None = None,
        pacing_sleep: Callable[[float], None] | None = None,
        **env: str,
    ) -> None:
        """`pacing_clock`/`pacing_sleep` put the GitHub source's pacer on simulated time (e.g. `clock` and
        `clock.advance`); by default it paces on the real clock."""
        fake.clock = clock.datetime
        self.fake = fake
        self.clock = clock
        self.settings: Settings = settings_for(fake, **env)
        self.tokens = tokens or TokenProvider(self.settings)
        self.source = GitHubSource(
            self.settings, self.tokens, wall=clock, pacing_clock=pacing_clock, pacing_sleep=pacing_sleep
        )
        metrics = default_registry().configured(self.settings)
        lister = RepoLister(self.source, monotonic=clock)
        self.discovery = Discovery(
            self.settings,
            lister,
            wall=clock,
            monotonic=clock,
            feed=lister.pushed_since,
            on_pushed=self.source.note_pushed,
            on_vouched=self.source.vouch,
        )
        self.refresher = Refresher(
            self.settings,
            metrics,
            self.source,
            clock=clock.datetime,
            repos=self.discovery,
            discovery=self.discovery.status,
        )
        self.collector = HealthCollector(
            self.settings,
            metrics,
            self.refresher,
            wall=clock,
            monotonic=clock,
            signals=self.source.signals,
        )
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(self.collector)
        self.app = create_app(self.settings, self.collector, self.registry)

    def scrape(self) -> Scrape:
        """GET /metrics through the app, in process (a stale cache starts a refresh, as in production)."""

        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://exporter") as client:
                return await client.get("/metrics")

        return Scrape(asyncio.run(send()))

    def close(self) -> None:
        self.collector.close(wait_seconds=30)
