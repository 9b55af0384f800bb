"""The cached collector: lazy refresh, single flight, bounded waits, last good values."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from prometheus_client import CollectorRegistry, generate_latest

from exporter.demo import FakeGitHub, Fault
from tests.concurrent_scrapes import inconsistency, scrape_during_refreshes
from tests.conftest import Wiring, commit, repo, run


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_registering_the_collector_makes_no_github_request(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(1)]))
    exporter = wire()
    assert fake.requests == []
    assert exporter.collector.refreshes_started == 0
    names = {family.name for family in exporter.collector.describe()}
    assert {"ci_tests_passing_on_main", "commits_hotfix", "commits_reverts"} <= names


def test_the_first_scrape_refreshes_and_serves_all_three_gauges(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(1)], commits=[commit(1, "hotfix"), commit(2, "Revert x")]))
    registry = wire().registry
    labels = {"repo": "octo/app", "branch": "main"}
    assert sample(registry, "ci_tests_passing_on_main", workflow="checks.yml", **labels) == 1.0
    assert sample(registry, "commits_hotfix", **labels) == 1.0
    assert sample(registry, "commits_reverts", **labels) == 1.0
    assert sample(registry, "system_health_exporter_metric_success", repo="octo/app", metric="commits.hotfix") == 1.0


def test_a_scrape_inside_the_ttl_makes_no_github_request(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(1)]))
    exporter = wire()
    generate_latest(exporter.registry)
    before = len(fake.requests)
    for _ in range(5):
        generate_latest(exporter.registry)
    # Runs and commits (the run's jobs are read only for EXPORTER_CI_REQUIRED_JOBS)
    assert len(fake.requests) == before == 2
    assert exporter.collector.refreshes_started == 1


def test_a_scrape_after_the_ttl_refreshes_again(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(1)]))
    exporter = wire(EXPORTER_CACHE_TTL_SECONDS="0")
    generate_latest(exporter.registry)
    generate_latest(exporter.registry)
    assert exporter.collector.refreshes_started == 2


def test_fifty_concurrent_scrapes_of_a_cold_exporter_cause_one_refresh(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(1)]))
    fake.latency_seconds = 0.05
    exporter = wire(EXPORTER_SCRAPE_WAIT_SECONDS="30")
    start = threading.Barrier(50)

    def scrape() -> bytes:
        start.wait(timeout=10)
        return generate_latest(exporter.registry)

    with ThreadPoolExecutor(max_workers=50) as pool:
        bodies = list(pool.map(lambda _: scrape(), range(50)))
    assert exporter.collector.refreshes_started == 1
    # One refresh: runs and commits (the run's jobs are read only for EXPORTER_CI_REQUIRED_JOBS)
    assert len(fake.requests) == 2
    assert all(
        b'ci_tests_passing_on_main{branch="main",repo="octo/app",workflow="checks.yml"} 1.0' in b for b in bodies
    )


def test_a_hanging_refresh_does_not_hold_the_scrape_past_the_wait(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(1)]))
    fake.inject(Fault(kind="hang"))
    exporter = wire(EXPORTER_SCRAPE_WAIT_SECONDS="0.2")
    try:
        body = generate_latest(exporter.registry).decode()
        assert "system_health_exporter_info" in body
        assert "\nci_tests_passing_on_main{" not in body
        assert exporter.collector.refreshes_started == 1
    finally:
        fake.clear_faults()
        fake.release_hangs()


def test_a_failed_refresh_keeps_the_last_good_value_and_says_it_failed(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(1)], commits=[commit(1, "hotfix")]))
    exporter = wire()
    registry = exporter.registry
    generate_latest(registry)
    fake.inject(Fault(kind="status", status=502))
    wire.wall += 60
    exporter.collector.refresh().result(timeout=30)
    labels = {"repo": "octo/app", "metric": "commits.hotfix"}
    assert sample(registry, "commits_hotfix", repo="octo/app", branch="main") == 1.0
    assert sample(registry, "system_health_exporter_metric_success", **labels) == 0.0
    assert sample(registry, "system_health_exporter_refresh_errors_total", reason="server_error", **labels) == 1.0
    assert sample(registry, "system_health_exporter_metric_value_age_seconds", **labels) == 60.0


def test_a_value_older_than_the_max_staleness_is_dropped(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(1)]))
    exporter = wire(EXPORTER_MAX_STALENESS_SECONDS="600")
    generate_latest(exporter.registry)
    fake.inject(Fault(kind="status", status=503))
    wire.wall += 601
    exporter.collector.refresh().result(timeout=30)
    assert sample(exporter.registry, "commits_hotfix", repo="octo/app", branch="main") is None
    assert (
        sample(exporter.registry, "system_health_exporter_metric_success", repo="octo/app", metric="commits.hotfix")
        == 0.0
    )


def test_no_data_drops_the_series_instead_of_reporting_a_value(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(1)]))
    exporter = wire(EXPORTER_CACHE_TTL_SECONDS="0")
    labels = {"repo": "octo/app", "branch": "main", "workflow": "checks.yml"}
    assert sample(exporter.registry, "ci_tests_passing_on_main", **labels) == 1.0
    fake.repo("octo/app").runs.clear()
    assert sample(exporter.registry, "ci_tests_passing_on_main", **labels) is None
    assert (
        sample(
            exporter.registry,
            "system_health_exporter_metric_success",
            repo="octo/app",
            metric="ci.tests_passing_on_main",
        )
        == 1.0
    )


def test_every_scrape_during_refreshes_serves_exactly_one_refresh() -> None:
    for _trial in range(4):  # before snapshots, nearly every trial failed (issue 9 §1)
        scrapes, refreshes = scrape_during_refreshes(repos=300, refreshes=3, switch_interval=1e-5)
        raised = [repr(seen) for seen in scrapes if isinstance(seen, BaseException)]
        assert raised == [], f"{len(raised)} of {len(scrapes)} scrapes raised, e.g. {raised[0]}"
        mixed = [problem for seen in scrapes if isinstance(seen, bytes) and (problem := inconsistency(seen, refreshes))]
        assert mixed == [], f"{len(mixed)} of {len(scrapes)} scrapes mixed refreshes, e.g. {mixed[0]}"
