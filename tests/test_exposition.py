"""The exposition: what /metrics writes, beside what prometheus-client writes, and as Prometheus' own
linter sees it."""

from __future__ import annotations

import asyncio
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

from exporter.demo import FakeGitHub, Fault
from exporter.demo.sample import REPO as DEMO_REPO
from exporter.demo.sample import demo_repo
from tests.clocked import Clock, ClockedExporter
from tests.conftest import FLOW_ON, NOW, Wiring, commit, repo, run

PROMTOOL = Path(__file__).resolve().parents[1] / ".tools/prometheus/usr/bin/promtool"


def promtool_check(exposition: bytes) -> subprocess.CompletedProcess[str]:
    if not PROMTOOL.exists():
        pytest.fail(f"promtool missing at {PROMTOOL}: run scripts/setup/promtool.sh (make test does)")
    return subprocess.run(
        [str(PROMTOOL), "check", "metrics"], input=exposition.decode(), capture_output=True, text=True, timeout=30
    )


def test_promtool_finds_nothing_to_report_on_a_healthy_exposition(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(1)], commits=[commit(1, "hotfix")]))
    fake.add_repo(repo("octo/other", runs=[run(2, "failure")]))
    checked = promtool_check(generate_latest(wire(EXPORTER_REPOS="octo/app,octo/other").registry))
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, "", "")


def test_promtool_finds_nothing_to_report_with_every_flow_metric_served(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(demo_repo(NOW))
    exposition = generate_latest(wire(EXPORTER_REPOS=DEMO_REPO, **FLOW_ON).registry)
    assert b'ci_runs{branch="main",conclusion="timed_out"' in exposition
    assert b'prs_time_to_merge_seconds{branch="main",percentile="90"' in exposition
    checked = promtool_check(exposition)
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, "", "")


def test_promtool_finds_nothing_to_report_with_failures_and_no_data(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[]))
    fake.inject(Fault(kind="status", status=500, path_regex="/commits"))
    checked = promtool_check(generate_latest(wire().registry))
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, "", "")


def test_promtool_finds_nothing_to_report_before_the_first_refresh(fake: FakeGitHub, wire: Wiring) -> None:
    fake.inject(Fault(kind="hang"))
    try:
        checked = promtool_check(generate_latest(wire(EXPORTER_SCRAPE_WAIT_SECONDS="0").registry))
    finally:
        fake.clear_faults()
        fake.release_hangs()
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, "", "")


def test_no_family_is_named_up_or_scrape(fake: FakeGitHub, wire: Wiring) -> None:
    names = {family.name for family in wire().collector.describe()}
    assert not {name for name in names if name == "up" or name.startswith("scrape_")}


OPENMETRICS = "application/openmetrics-text; version=1.0.0"


def get_metrics(exporter: ClockedExporter, accept: str = "", encoding: str = "identity") -> httpx.Response:
    """GET /metrics through the app, in process, on the test's thread."""

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=exporter.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://exporter") as client:
            return await client.get("/metrics", headers={"Accept": accept, "Accept-Encoding": encoding})

    return asyncio.run(send())


def assert_served_as_prometheus_client_writes_it(exporter: ClockedExporter) -> str:
    """/metrics, in text and in OpenMetrics, gzipped or not, equals what prometheus-client writes now."""
    text = get_metrics(exporter)
    assert text.content == generate_latest(exporter.registry)
    assert get_metrics(exporter, OPENMETRICS).content == generate_openmetrics(exporter.registry)
    zipped = get_metrics(exporter, encoding="gzip")
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.content == text.content  # httpx has unzipped it
    return text.text


@pytest.fixture
def clocked(fake: FakeGitHub) -> Iterator[tuple[Clock, ClockedExporter]]:
    fake.add_repo(repo(runs=[run(1)], commits=[commit(1, "hotfix"), commit(2, "Revert x")]))
    clock = Clock()
    exporter = ClockedExporter(fake, clock, EXPORTER_MAX_STALENESS_SECONDS="600", EXPORTER_CACHE_TTL_SECONDS="300")
    try:
        yield clock, exporter
    finally:
        exporter.close()


def test_metrics_serves_what_prometheus_client_writes_as_values_age_and_go_stale(
    fake: FakeGitHub, clocked: tuple[Clock, ClockedExporter]
) -> None:
    clock, exporter = clocked
    first = assert_served_as_prometheus_client_writes_it(exporter)  # the first scrape refreshes
    assert "\ncommits_hotfix{" in first
    clock.advance(7.25)  # inside the TTL: the cached exposition, with its value ages written now
    assert 'value_age_seconds{metric="commits.hotfix",repo="octo/app"} 7.25\n' in (
        assert_served_as_prometheus_client_writes_it(exporter)
    )
    fake.inject(Fault(kind="status", status=500, path_regex="/commits"))
    clock.advance(590 - 7.25)  # past the TTL: a refresh, in which the commit metrics fail and keep their values
    before = assert_served_as_prometheus_client_writes_it(exporter)
    assert exporter.collector.refreshes_started == 2
    assert "\ncommits_hotfix{" in before and "\nci_tests_passing_on_main{" in before
    clock.advance(15)  # inside the TTL, but the commit values are now 605 s old: past the max staleness
    after = assert_served_as_prometheus_client_writes_it(exporter)
    assert exporter.collector.refreshes_started == 2
    assert "\ncommits_hotfix{" not in after and "\nci_tests_passing_on_main{" in after


def test_metrics_serves_what_prometheus_client_writes_before_the_first_refresh(fake: FakeGitHub) -> None:
    fake.inject(Fault(kind="hang"))
    exporter = ClockedExporter(fake, Clock(), EXPORTER_SCRAPE_WAIT_SECONDS="0")
    try:
        assert "\nsystem_health_exporter_refreshes_total 0.0\n" in assert_served_as_prometheus_client_writes_it(
            exporter
        )
    finally:
        fake.clear_faults()
        fake.release_hangs()
        exporter.close()


class ThreadClock(Clock):
    """A Clock that notes the thread of every reading."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[str] = []

    def __call__(self) -> float:
        self.threads.append(threading.current_thread().name)
        return super().__call__()


def test_a_scrape_of_a_fresh_cache_is_answered_without_a_worker_thread(fake: FakeGitHub) -> None:
    fake.add_repo(repo(runs=[run(1)]))
    clock = ThreadClock()
    exporter = ClockedExporter(fake, clock)
    try:
        get_metrics(exporter)  # refreshes, then renders the exposition
        clock.threads.clear()
        clock.advance(60)
        assert "\nci_tests_passing_on_main{" in get_metrics(exporter).text
        assert clock.threads != []
        assert set(clock.threads) == {threading.current_thread().name}  # asyncio.run runs the app here
        assert exporter.collector.refreshes_started == 1
    finally:
        exporter.close()
