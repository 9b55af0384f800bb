"""Goal 6: requests, points, refresh time and memory for 1 to 1,000 repositories, and what one token serves.

Each size runs the exporter in a child process (`python -m bench.growth`), so its resident memory
is its own; the fake GitHub runs here and counts the requests and points of each refresh.
"""

from __future__ import annotations

import json
import os
import sys
import threading

from bench.common import TOKEN, Report, make_repo, now, repo_names, running
from exporter.demo import FakeGitHub
from tests.processes import child, clean_env, rss_kib

POINTS_PER_HOUR = 5000
WINDOWS_PER_HOUR = 4  # a refresh every 15 minutes
SECONDARY_POINTS_PER_MINUTE = 900  # GitHub's secondary limit on REST points a minute
COMMITS, RUNS = 60, 20  # per repository: one page of commits, a short runs page


def _child_main() -> None:
    """In the child: wire the exporter as `serve` does; refresh and scrape on each line read; report JSON."""
    from prometheus_client import CollectorRegistry, generate_latest

    from exporter.collector import HealthCollector
    from exporter.github.credentials import TokenProvider
    from exporter.github.source import GitHubSource
    from exporter.metrics.registry import default_registry
    from exporter.refresh import Refresher
    from exporter.settings import Settings
    from exporter.web.app import create_app

    settings = Settings.from_env(os.environ)
    metrics = default_registry()
    source = GitHubSource(settings, TokenProvider(settings))
    collector = HealthCollector(settings, metrics, Refresher(settings, metrics, source))
    registry = CollectorRegistry()
    registry.register(collector)
    create_app(settings, collector, registry)
    try:
        for _ in sys.stdin:
            result = collector.refresh().result(timeout=600)
            generate_latest(registry)
            stats = source.cache.stats() if source.cache is not None else None
            rss, hwm = rss_kib(os.getpid())
            report = {
                "seconds": result.seconds,
                "failed": len(result.failed),
                "rss_kib": rss,
                "hwm_kib": hwm,
                "cache_bytes": stats.bytes if stats else 0,
                "cache_entries": stats.entries if stats else 0,
            }
            print(json.dumps(report), flush=True)
    finally:
        collector.close()


def _refresh(process: object, fake: FakeGitHub) -> dict[str, float]:
    fake.clear_requests()
    points = fake.points_used
    process.stdin.write("refresh\n")  # type: ignore[attr-defined]
    process.stdin.flush()  # type: ignore[attr-defined]
    line = process.stdout.readline()  # type: ignore[attr-defined]
    if not line:
        raise RuntimeError("the growth child exited early")
    data: dict[str, float] = json.loads(line)
    if data["failed"]:
        raise RuntimeError(f"{data['failed']} series failed in the growth child")
    data["requests"] = len(fake.requests)
    data["points"] = fake.points_used - points
    return data


def run(report: Report, quick: bool, facts: dict[str, float]) -> None:
    sizes = (1, 10, 100) if quick else (1, 10, 100, 1000)
    for size in sizes:
        names = repo_names(size)
        moment = now()
        with running(
            FakeGitHub(repos=[make_repo(name, moment, COMMITS, RUNS) for name in names], rate_limit=10**9)
        ) as fake:
            env = clean_env(
                EXPORTER_GITHUB_API_URL=fake.url,
                GITHUB_TOKEN=TOKEN,
                EXPORTER_REPOS=",".join(names),
                EXPORTER_LOG_LEVEL="WARNING",
                EXPORTER_REFRESH_DEADLINE_SECONDS="600",
            )
            with child(["-m", "bench.growth"], env) as process:
                watchdog = threading.Timer(900, process.kill)  # bounds the readline()s below
                watchdog.start()
                try:
                    cold = _refresh(process, fake)
                    warm = _refresh(process, fake)
                finally:
                    watchdog.cancel()
        report.add(
            "6", f"{size:,} repos: GETs, cold / warm refresh", f"{cold['requests']:,.0f} / {warm['requests']:,.0f}"
        )
        report.add(
            "6",
            f"{size:,} repos: points, cold / warm refresh",
            f"{cold['points']:,.0f} / {warm['points']:,.0f}",
            note="warm: nothing changed",
        )
        report.add(
            "6",
            f"{size:,} repos: refresh time on the fake, cold / warm",
            f"{cold['seconds']:.2f} / {warm['seconds']:.2f} s",
            note="no injected latency",
        )
        report.add(
            "6",
            f"{size:,} repos: RSS after 2 refreshes (peak)",
            f"{warm['rss_kib'] / 1024:.1f} MiB ({warm['hwm_kib'] / 1024:.1f})",
            note=f"HTTP cache {warm['cache_entries']:.0f} entries, {warm['cache_bytes'] / 1024:.0f} KiB",
        )
    _capacity(report, facts)


def _capacity(report: Report, facts: dict[str, float]) -> None:
    """How many repositories one token serves at one refresh every 15 minutes."""
    per_window = POINTS_PER_HOUR / WINDOWS_PER_HOUR
    unconditional = facts["first"]  # every refresh costs what a cold one does
    changed = facts["commit"] + facts["run"]  # a new commit and a new run since the last window
    rollover = 1 / (24 * WINDOWS_PER_HOUR)  # the commits URL changes once a day
    secondary = SECONDARY_POINTS_PER_MINUTE * 15 / 3  # 3 GETs a repository if 304s count there too
    old = per_window / facts["old"]
    rows = [
        ("without conditional requests", per_window / unconditional, f"{per_window:.0f} / {unconditional:.0f}"),
        (
            "conditional, every repo changes every window",
            per_window / (changed + rollover),
            f"{per_window:.0f} / ({changed:.0f} + 1/96)",
        ),
        (
            "conditional, a repo changes in 1 of 4 windows",
            per_window / (changed / 4 + rollover),
            f"{per_window:.0f} / ({changed:.0f}/4 + 1/96)",
        ),
        ("conditional, nothing changes (secondary limit)", secondary, "900/min x 15 min / 3 GETs"),
    ]
    for name, repos, how in rows:
        report.add("6", f"repos one token serves every 15 min, {name}", int(repos), int(old), "old job", "", how)


if __name__ == "__main__":
    _child_main()
