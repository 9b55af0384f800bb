"""Scrapes in a loop while refreshes are applied, and a check that each scrape saw exactly one refresh.

Shared by tests/test_collector.py and `python -m bench.consistency` (issue 9 §1).
"""

from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from prometheus_client import CollectorRegistry, generate_latest

from exporter.changes import KINDS
from exporter.collector import HealthCollector
from exporter.metrics.registry import default_registry
from exporter.metrics.scores import Served, goal_families
from exporter.refresh import RefreshResult, SeriesResult, series_labels
from exporter.settings import Settings
from tests.clocked import Clock
from tests.conftest import NOW

BASE = NOW.timestamp()
SCRAPERS = 4
MAX_SCRAPES = 500  # a thread's scrapes in one run


class SyntheticRefreshes:
    """A refresher of `repos` repositories that needs no GitHub, so that a refresh of thousands of series
    is applied in milliseconds while scrapes run (the collector takes any callable returning a
    RefreshResult: this is that seam, not a patch).

    Refresh k (1, 2, …) finishes at wall time BASE + k. Every series is computed with value k, except in
    even refreshes, where every metric of the even-numbered repositories fails with `server_error`."""

    def __init__(self, repos: int, clock: Clock) -> None:
        self.settings = Settings.from_env(
            {"GITHUB_TOKEN": "t", "EXPORTER_SCRAPE_WAIT_SECONDS": "0", "EXPORTER_CACHE_TTL_SECONDS": "3600"}
        )
        self.metrics = default_registry()
        self.repos = [f"org/repo-{index:04d}" for index in range(repos)]
        self.clock = clock
        self.calls = 0

    def __call__(self) -> RefreshResult:
        self.calls += 1
        k = self.calls
        series = []
        for index, name in enumerate(self.repos):
            for spec in self.metrics:
                labels = series_labels(spec, self.settings, name)
                if k % 2 == 0 and index % 2 == 0:
                    series.append(SeriesResult(spec.key, name, labels, None, "server_error", "HTTP 502"))
                else:
                    series.append(SeriesResult(spec.key, name, labels, float(k)))
        self.clock.now = BASE + k  # the collector reads this as the time the refresh was applied
        return RefreshResult(
            started_at=NOW,
            seconds=float(k),
            series=tuple(series),
            repo_seconds=dict.fromkeys(self.repos, float(k)),
            repos=tuple(self.repos),
            data_ages={"ci": 10.0 * k, "commits": 20.0 * k},
        )

    def expected(self, k: int) -> dict[str, float]:
        """Every sample line (`name{labels}` → value) after refresh k, but the value ages and the info."""
        lines: dict[str, float] = {
            "system_health_exporter_refreshes_total": float(k),
            'system_health_exporter_shard_info{shard="0",shards="1"}': 1.0,
            # configuration: EXPORTER_CACHE_TTL_SECONDS and EXPORTER_SLOW_DATA_SECONDS are both 3600
            **{f'system_health_exporter_data_bound_seconds{{kind="{kind}"}}': 3600.0 for kind in KINDS},
        }
        if k == 0:
            return lines
        lines['system_health_exporter_data_age_seconds{kind="ci"}'] = 10.0 * k
        lines['system_health_exporter_data_age_seconds{kind="commits"}'] = 20.0 * k
        lines['system_health_exporter_shard_repositories{shard="0"}'] = float(len(self.repos))
        lines["system_health_exporter_refresh_duration_seconds"] = float(k)
        lines["system_health_exporter_last_refresh_timestamp_seconds"] = BASE + k
        served: list[Served] = []  # what the goal scores are computed from: served values, scored while ok
        for index, name in enumerate(self.repos):
            lines[f'system_health_exporter_repo_refresh_duration_seconds{{repo="{name}"}}'] = float(k)
            failed = k % 2 == 0 and index % 2 == 0
            good = k - 1 if failed else k  # the refresh whose value is served
            for spec in self.metrics:
                labels = series_labels(spec, self.settings, name)
                text = ",".join(f'{label}="{labels[label]}"' for label in sorted(labels))
                pair = f'metric="{spec.key}",repo="{name}"'
                if good > 0:
                    lines[f"{spec.name}{{{text}}}"] = float(good)
                    served.append(Served(spec.key, labels, float(good), ok=not failed))
                    lines[f"system_health_exporter_metric_last_success_timestamp_seconds{{{pair}}}"] = BASE + good
                lines[f"system_health_exporter_metric_success{{{pair}}}"] = 0.0 if failed else 1.0
                if index % 2 == 0 and k >= 2:
                    errors = f'metric="{spec.key}",reason="server_error",repo="{name}"'
                    lines[f"system_health_exporter_refresh_errors_total{{{errors}}}"] = float(k // 2)
        for family in goal_families(served, self.metrics):
            for sample in family.samples:
                text = ",".join(f'{label}="{value}"' for label, value in sorted(sample.labels.items()))
                lines[f"{sample.name}{{{text}}}"] = sample.value
        return lines


def inconsistency(body: bytes, refreshes: SyntheticRefreshes) -> str | None:
    """None when every sample of the scrape belongs to one refresh's state, else what is off."""
    samples: dict[str, float] = {}
    ages: set[str] = set()
    for line in body.decode().splitlines():
        if not line or line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        if series.startswith("system_health_exporter_metric_value_age_seconds{"):
            ages.add(series.partition("{")[2])
        elif not series.startswith("system_health_exporter_info{"):
            samples[series] = float(value)
    k = int(samples.get("system_health_exporter_refreshes_total", -1))
    if k < 0:
        return "no refreshes_total sample"
    expected = refreshes.expected(k)
    if samples != expected:
        wrong = sorted(set(samples.items()) ^ set(expected.items()))[:2]
        return f"after refresh {k}: {len(samples)} samples, {len(expected)} expected; differing: {wrong}"
    served = {line.partition("{")[2] for line in expected if "last_success" in line}
    if ages != served:
        return f"after refresh {k}: {len(ages)} value ages for {len(served)} served series"
    return None


def scrape_during_refreshes(
    repos: int, refreshes: int, switch_interval: float | None = None
) -> tuple[list[bytes | BaseException], SyntheticRefreshes]:
    """SCRAPERS threads scrape through `generate_latest` in a loop (scrape wait 0) while `refreshes`
    refreshes are applied, the first one included; every scrape's body, or what it raised."""
    clock = Clock()
    refresher = SyntheticRefreshes(repos, clock)
    collector = HealthCollector(refresher.settings, refresher.metrics, refresher, wall=clock)
    registry = CollectorRegistry()
    registry.register(collector)
    done = threading.Event()
    start = threading.Barrier(SCRAPERS + 1)

    def scrape() -> bytes | BaseException:
        try:
            return generate_latest(registry)
        except Exception as exc:  # what /metrics would answer 500 for
            return exc

    def scrape_until_done() -> list[bytes | BaseException]:
        start.wait(timeout=10)
        seen = []
        while not done.is_set() and len(seen) < MAX_SCRAPES:
            seen.append(scrape())
        seen.append(scrape())  # at least one after the last refresh
        return seen

    interval = sys.getswitchinterval()
    if switch_interval is not None:
        sys.setswitchinterval(switch_interval)  # switch threads more often: scrapes interleave with the apply
    try:
        with ThreadPoolExecutor(max_workers=SCRAPERS) as pool:
            scrapers = [pool.submit(scrape_until_done) for _ in range(SCRAPERS)]
            start.wait(timeout=10)
            try:
                for _ in range(refreshes):
                    collector.refresh().result(timeout=120)
            finally:
                done.set()
            scrapes = [seen for scraper in scrapers for seen in scraper.result(timeout=120)]
    finally:
        sys.setswitchinterval(interval)
        collector.close(wait_seconds=30)
    return scrapes, refresher
