"""Faults from GitHub: /metrics still answers, keeps what it knew, says what failed, and recovers alone.

Each fault test scrapes a healthy exporter watching two repositories, injects the fault into the
fake GitHub, moves the clock a minute and scrapes through the app again, then clears the fault
and scrapes once more. A scrape waits for a refresh at most EXPORTER_SCRAPE_WAIT_SECONDS (the
collector's only wait): the tests show which side of that wait the refresh ended on, never a time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import requests

from exporter.demo import FakeGitHub, FakeJob, Fault
from exporter.github.credentials import TokenProvider
from exporter.github.source import GitHubSource
from exporter.github.transport import HttpHooks, HttpRequest, Send
from exporter.metrics.registry import default_registry
from exporter.refresh import Refresher
from tests.clocked import Clock, ClockedExporter, Scrape
from tests.conftest import NOW, commit, repo, run, settings_for
from tests.helpers import series, value

REPO, OTHER = "octo/app", "octo/other"
CI, HOTFIX, REVERTS = "ci.tests_passing_on_main", "commits.hotfix", "commits.reverts"
ALL = (CI, HOTFIX, REVERTS)
BEFORE = {REPO: {CI: 1.0, HOTFIX: 1.0, REVERTS: 1.0}, OTHER: {CI: 0.0, HOTFIX: 2.0, REVERTS: 0.0}}
GAUGES = {CI: ("ci_tests_passing_on_main", {"workflow": "checks.yml"}), HOTFIX: ("commits_hotfix", {})}
GAUGES[REVERTS] = ("commits_reverts", {})
REPO_PATHS = r"^/repos/octo/app(/|$)"
TOKEN = "test-token"
# Fast and deterministic: no retries, a one-second GitHub timeout, a refresh on a scrape once the
# test clock moved (TTL 1 s on that clock), and repositories refreshed one after the other (so a
# token-wide limit reaches them in a known order).
FAST = {
    "EXPORTER_REPOS": f"{REPO},{OTHER}",
    "EXPORTER_GITHUB_RETRIES": "0",
    "EXPORTER_GITHUB_TIMEOUT_SECONDS": "1",
    "EXPORTER_CACHE_TTL_SECONDS": "1",
    "EXPORTER_SCRAPE_WAIT_SECONDS": "30",
    "EXPORTER_GITHUB_CONCURRENCY": "1",
}


def gauge(scrape: Scrape, key: str, repo: str) -> float | None:
    name, extra = GAUGES[key]
    return scrape.value(name, repo=repo, branch="main", **extra)


def health(scrape: Scrape, name: str, key: str, repo: str, **labels: str) -> float | None:
    return scrape.value(f"system_health_exporter_{name}", repo=repo, metric=key, **labels)


class World:
    """Two repositories on the fake GitHub and the exporters a test builds against them."""

    def __init__(self, fake: FakeGitHub) -> None:
        self.fake = fake
        self.clock = Clock()
        self._built: list[ClockedExporter] = []
        fake.add_repo(repo(REPO, runs=[run(1)], commits=[commit(1, "hotfix: login"), commit(2, 'Revert "x"')]))
        fake.add_repo(repo(OTHER, runs=[run(2, "failure")], commits=[commit(3, "hotfix: a"), commit(4, "hotfix: b")]))

    def exporter(self, tokens: TokenProvider | None = None, **env: str) -> ClockedExporter:
        built = ClockedExporter(self.fake, self.clock, tokens, **{**FAST, **env})
        self._built.append(built)
        return built

    def close(self) -> None:
        self.fake.release_hangs()
        for built in self._built:
            built.close()


@pytest.fixture
def world(fake: FakeGitHub) -> Iterator[World]:
    made = World(fake)
    try:
        yield made
    finally:
        made.close()


def healthy(exporter: ClockedExporter) -> Scrape:
    """The first scrape: every series computed."""
    scrape = exporter.scrape()
    for name in (REPO, OTHER):
        assert {key: gauge(scrape, key, name) for key in ALL} == BEFORE[name]
    return scrape


def faulted(
    world: World,
    exporter: ClockedExporter,
    caplog: pytest.LogCaptureFixture,
    fault: Fault,
    reason: str,
    failing: tuple[str, ...] = ALL,
    other_fails: bool = False,
) -> Scrape:
    """Inject `fault` a minute later and scrape: last good values kept, failure visible, the other repo fresh."""
    world.fake.inject(fault)
    world.fake.repo(OTHER).commits["main"].append(commit(5, "hotfix: c"))
    world.clock.advance(60)
    caplog.clear()
    with caplog.at_level(logging.INFO):
        scrape = exporter.scrape()
    assert scrape.status_code == 200
    for key in ALL:
        assert gauge(scrape, key, REPO) == BEFORE[REPO][key]
        failed = key in failing
        assert health(scrape, "metric_success", key, REPO) == (0.0 if failed else 1.0)
        assert health(scrape, "refresh_errors_total", key, REPO, reason=reason) == (1.0 if failed else None)
        assert health(scrape, "metric_value_age_seconds", key, REPO) == (60.0 if failed else 0.0)
    if other_fails:  # the limit is the token's: the other repository waits too, keeping its values
        assert gauge(scrape, HOTFIX, OTHER) == 2.0
        assert health(scrape, "refresh_errors_total", HOTFIX, OTHER, reason=reason) == 1.0
    else:
        assert gauge(scrape, HOTFIX, OTHER) == 3.0
        assert all(health(scrape, "metric_success", key, OTHER) == 1.0 for key in ALL)
    assert_said_once(caplog, REPO, reason)
    return scrape


def assert_said_once(caplog: pytest.LogCaptureFixture, repo_name: str, reason: str) -> None:
    """One warning names the repository and the reason; no stack trace, no token, nothing above WARNING."""
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and repo_name in r.getMessage()]
    assert len(lines) == 1, lines
    assert f"({reason})" in lines[0]
    assert all(r.levelno <= logging.WARNING and r.exc_info is None for r in caplog.records)
    assert TOKEN not in caplog.text


def recovers(world: World, exporter: ClockedExporter, after_seconds: float = 60) -> Scrape:
    """GitHub is healthy again: the next scrape brings fresh values back, with no restart."""
    world.fake.clear_faults()
    world.fake.release_hangs()
    world.fake.repo(REPO).commits["main"].append(commit(6, "hotfix: d"))
    world.clock.advance(after_seconds)
    exporter.scrape()
    wait_until_idle(exporter)
    scrape = exporter.scrape()  # the clock did not move: the cache, as the refresh left it
    assert gauge(scrape, HOTFIX, REPO) == 2.0
    for name in (REPO, OTHER):
        for key in ALL:
            assert health(scrape, "metric_success", key, name) == 1.0
            assert health(scrape, "metric_value_age_seconds", key, name) == 0.0
    return scrape


# --- server errors and the network ------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_5xx_keeps_the_last_values_and_counts_server_error(
    world: World, caplog: pytest.LogCaptureFixture, status: int
) -> None:
    exporter = world.exporter()
    healthy(exporter)
    faulted(world, exporter, caplog, Fault(kind="status", status=status, path_regex=REPO_PATHS), "server_error")
    recovers(world, exporter)


def test_a_5xx_is_retried_exactly_github_retries_times(world: World) -> None:
    exporter = world.exporter(EXPORTER_GITHUB_RETRIES="2", EXPORTER_REPOS=REPO)
    world.fake.inject(Fault(kind="status", status=502, path_regex=REPO_PATHS))
    exporter.scrape()
    assert world.fake.count("/repos/octo/app/actions/workflows/checks.yml/runs") == 3
    assert world.fake.count("/repos/octo/app/commits") == 3


def test_a_refused_connection_counts_connection(world: World, caplog: pytest.LogCaptureFixture) -> None:
    exporter = world.exporter()
    healthy(exporter)
    faulted(world, exporter, caplog, Fault(kind="refuse", path_regex=REPO_PATHS), "connection")
    recovers(world, exporter)


def test_a_hanging_request_does_not_hold_the_scrape_and_times_out_after_the_github_timeout(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    exporter = world.exporter(EXPORTER_SCRAPE_WAIT_SECONDS="0.1")
    exporter.collector.refresh().result(timeout=60)  # healthy: the refresh fills the cache
    world.fake.inject(Fault(kind="hang", path_regex=REPO_PATHS))
    world.clock.advance(60)
    caplog.clear()
    with caplog.at_level(logging.INFO):
        during = exporter.scrape()
        # The scrape answered from the cache while the refresh still waited on GitHub (each of the
        # repository's two requests waits a whole EXPORTER_GITHUB_TIMEOUT_SECONDS of 1 s).
        assert exporter.collector.refreshing
        assert during.status_code == 200
        assert {key: gauge(during, key, REPO) for key in ALL} == BEFORE[REPO]
        wait_until_idle(exporter)
    assert_said_once(caplog, REPO, "timeout")
    # One attempt per request (no retries), each given up by the client while GitHub still holds it.
    assert world.fake.hanging == 2
    after = exporter.scrape()  # the clock did not move: the cache, as the refresh left it
    for key in ALL:
        assert gauge(after, key, REPO) == BEFORE[REPO][key]
        assert health(after, "metric_success", key, REPO) == 0.0
        assert health(after, "refresh_errors_total", key, REPO, reason="timeout") == 1.0
        assert health(after, "metric_value_age_seconds", key, REPO) == 60.0
    assert gauge(after, HOTFIX, OTHER) == 2.0
    assert health(after, "metric_success", HOTFIX, OTHER) == 1.0
    recovers(world, exporter)


def wait_until_idle(exporter: ClockedExporter) -> None:
    """Join the running refresh, if any (bounded by the test timeout and the GitHub timeout)."""
    future = exporter.collector.refresh() if exporter.collector.refreshing else None
    if future is not None:
        future.result(timeout=60)


def test_a_slow_github_is_cut_off_at_the_refresh_deadline(fake: FakeGitHub) -> None:
    # Three pages of commits, so that a deadline not enforced would show as more requests
    commits = [commit(n, "hotfix" if n == 0 else f"change {n}", days_ago=6 * (n + 1) / 251) for n in range(250)]
    fake.add_repo(repo(REPO, runs=[run(1)], commits=commits))
    clock = Clock()
    clock.now = 0.0

    def ten_seconds_each(request: HttpRequest, send: Send) -> requests.Response:
        clock.advance(10)  # every GitHub request "takes" 10 s on the refresh's monotonic clock
        return send(request)

    settings = settings_for(fake, EXPORTER_REFRESH_DEADLINE_SECONDS="15")
    source = GitHubSource(settings, TokenProvider(settings), monotonic=clock, hooks=HttpHooks([ten_seconds_each]))
    result = Refresher(settings, default_registry().configured(settings), source, clock=lambda: NOW, monotonic=clock)()
    # The runs list came in at 10 s, inside the deadline (the run's jobs are read only for
    # EXPORTER_CI_REQUIRED_JOBS); the commits' first page at 20 s, past it: no second page
    assert value(result, CI, REPO) == 1.0
    for key in (HOTFIX, REVERTS):
        assert series(result, key, REPO).reason == "timeout"
    assert len(fake.requests) == 2
    assert fake.count("/commits") == 1


def test_a_truncated_body_counts_connection(world: World, caplog: pytest.LogCaptureFixture) -> None:
    exporter = world.exporter()
    healthy(exporter)
    faulted(world, exporter, caplog, Fault(kind="truncated", path_regex=REPO_PATHS), "connection")
    recovers(world, exporter)


# --- bodies PyGithub must not read --------------------------------------------------------------


def test_a_body_that_is_not_json_counts_bad_response(world: World, caplog: pytest.LogCaptureFixture) -> None:
    exporter = world.exporter()
    healthy(exporter)
    faulted(world, exporter, caplog, Fault(kind="not_json", path_regex=REPO_PATHS), "bad_response")
    recovers(world, exporter)


def test_a_body_missing_fields_counts_bad_response_without_refetching_each_item(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    exporter = world.exporter()
    healthy(exporter)
    world.fake.clear_requests()
    faulted(world, exporter, caplog, Fault(kind="missing_fields", path_regex=REPO_PATHS), "bad_response")
    assert world.fake.count("/repos/octo/app") == 2  # the runs list and the commits list, no lazy completion
    recovers(world, exporter)


def test_a_body_with_nulls_counts_bad_response_and_is_never_read_as_a_failing_run(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    exporter = world.exporter()
    healthy(exporter)
    faulted(world, exporter, caplog, Fault(kind="nulls", path_regex=REPO_PATHS), "bad_response")
    recovers(world, exporter)


def test_a_completed_run_whose_conclusion_is_null_is_bad_response_not_a_failure(fake: FakeGitHub, world: World) -> None:
    fake.repo(REPO).runs[:] = [run(7, None)]
    scrape = world.exporter().scrape()
    assert gauge(scrape, CI, REPO) is None
    assert health(scrape, "refresh_errors_total", CI, REPO, reason="bad_response") == 1.0
    assert health(scrape, "metric_success", HOTFIX, REPO) == 1.0


def test_a_job_still_running_may_have_a_null_conclusion(fake: FakeGitHub, world: World) -> None:
    fake.repo(REPO).runs[:] = [run(7, jobs=[FakeJob("lint"), FakeJob("deploy", conclusion=None, status="in_progress")])]
    scrape = world.exporter().scrape()
    assert gauge(scrape, CI, REPO) == 1.0


def test_a_202_fails_at_once_instead_of_pygithub_sleeping_and_asking_forever(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    exporter = world.exporter()
    healthy(exporter)
    world.fake.clear_requests()
    faulted(world, exporter, caplog, Fault(kind="status", status=202, path_regex=REPO_PATHS), "bad_response")
    assert world.fake.count("/repos/octo/app/actions/workflows/checks.yml/runs", status=202) == 1
    assert world.fake.count("/repos/octo/app/commits", status=202) == 1
    recovers(world, exporter)


# --- answers too large to read -----------------------------------------------------------------

SMALL_CAP = str(64 * 1024)  # the smallest EXPORTER_MAX_ANSWER_BYTES; the healthy answers are a few KiB


def test_a_gzip_bomb_counts_too_large_and_keeps_the_last_values(world: World, caplog: pytest.LogCaptureFixture) -> None:
    exporter = world.exporter(EXPORTER_MAX_ANSWER_BYTES=SMALL_CAP)
    healthy(exporter)
    bomb = Fault(kind="gzip_bomb", path_regex=REPO_PATHS, body_bytes=32 * 1024 * 1024)
    faulted(world, exporter, caplog, bomb, "too_large")
    recovers(world, exporter)


def test_a_huge_plain_answer_counts_too_large(world: World, caplog: pytest.LogCaptureFixture) -> None:
    exporter = world.exporter(EXPORTER_MAX_ANSWER_BYTES=SMALL_CAP)
    healthy(exporter)
    faulted(world, exporter, caplog, Fault(kind="huge_body", path_regex=REPO_PATHS, body_bytes=1 << 20), "too_large")
    recovers(world, exporter)


# --- answers about the repository ---------------------------------------------------------------


def test_a_401_stops_the_token_for_every_repository_until_the_secret_holds_another(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    secret = {"value": "old-token"}
    settings = settings_for(world.fake, GITHUB_TOKEN="", **FAST)
    tokens = TokenProvider(settings, fetcher=lambda: lambda secret_id, seconds: secret["value"])
    exporter = world.exporter(tokens=tokens, GITHUB_TOKEN="")
    healthy(exporter)
    world.fake.clear_requests()
    fault = Fault(kind="unauthorized", path_regex=REPO_PATHS)
    faulted(world, exporter, caplog, fault, "unauthorized", other_fails=True)
    # One refused request: neither repository sent the token again; the other repository read the
    # secret once more, found the same token and did not send it.
    assert world.fake.count("", status=401) == 1
    assert len(world.fake.requests) == 1
    assert tokens.fetches == 2
    assert "old-token" not in caplog.text
    secret["value"] = "new-token"
    recovers(world, exporter)
    assert tokens.fetches == 3


def test_a_404_for_an_unknown_repository_counts_not_found(world: World, caplog: pytest.LogCaptureFixture) -> None:
    exporter = world.exporter()
    healthy(exporter)
    faulted(world, exporter, caplog, Fault(kind="not_found", path_regex=REPO_PATHS), "not_found")
    recovers(world, exporter)


def test_a_409_for_an_empty_repository_counts_empty_repository(world: World, caplog: pytest.LogCaptureFixture) -> None:
    exporter = world.exporter()
    healthy(exporter)
    fault = Fault(kind="empty_repository", path_regex=r"^/repos/octo/app/commits")
    faulted(world, exporter, caplog, fault, "empty_repository", failing=(HOTFIX, REVERTS))
    recovers(world, exporter)


def test_a_301_for_a_renamed_repository_is_followed_with_its_query(world: World) -> None:
    exporter = world.exporter()
    healthy(exporter)
    world.fake.inject(Fault(kind="moved", path_regex=REPO_PATHS))
    world.fake.repo(REPO).commits["main"].append(commit(6, "hotfix: after the rename"))
    world.fake.clear_requests()
    world.clock.advance(60)
    scrape = exporter.scrape()
    assert gauge(scrape, HOTFIX, REPO) == 2.0
    assert gauge(scrape, CI, REPO) == 1.0
    assert all(health(scrape, "metric_success", key, REPO) == 1.0 for key in ALL)
    repo_id = world.fake.repo(REPO).id
    (moved,) = [r for r in world.fake.requests if r.path == f"/repositories/{repo_id}/commits"]
    assert moved.query["sha"] == "main" and "since" in moved.query
    (runs,) = [r for r in world.fake.requests if r.path.endswith(f"{repo_id}/actions/workflows/checks.yml/runs")]
    assert (runs.query["branch"], runs.query["status"]) == ("main", "completed")


# --- rate limits ------------------------------------------------------------------------------


def no_request_until(world: World, exporter: ClockedExporter, seconds: float, reason: str = "rate_limited") -> None:
    """Until `seconds` after the faulted scrape, refreshes fail at once without calling GitHub."""
    world.fake.clear_faults()
    world.fake.clear_requests()
    world.clock.advance(seconds - 1)
    scrape = exporter.scrape()
    assert world.fake.requests == []
    assert health(scrape, "refresh_errors_total", CI, REPO, reason=reason) == 2.0
    assert gauge(scrape, CI, REPO) == 1.0


def test_a_403_primary_rate_limit_waits_for_the_reset(world: World, caplog: pytest.LogCaptureFixture) -> None:
    exporter = world.exporter()
    healthy(exporter)
    faulted(world, exporter, caplog, Fault(kind="primary_rate_limit", reset_in=600), "rate_limited", other_fails=True)
    no_request_until(world, exporter, 600)
    recovers(world, exporter, after_seconds=2)


def test_a_403_secondary_rate_limit_honours_retry_after(world: World, caplog: pytest.LogCaptureFixture) -> None:
    exporter = world.exporter()
    healthy(exporter)
    fault = Fault(kind="secondary_rate_limit", retry_after=120)
    faulted(world, exporter, caplog, fault, "rate_limited", other_fails=True)
    no_request_until(world, exporter, 120)
    recovers(world, exporter, after_seconds=2)


def test_a_429_with_retry_after_honours_it(world: World, caplog: pytest.LogCaptureFixture) -> None:
    exporter = world.exporter()
    healthy(exporter)
    fault = Fault(kind="too_many_requests", retry_after=30)
    faulted(world, exporter, caplog, fault, "rate_limited", other_fails=True)
    no_request_until(world, exporter, 30)
    recovers(world, exporter, after_seconds=2)


def test_a_429_without_retry_after_waits_a_minute(world: World, caplog: pytest.LogCaptureFixture) -> None:
    exporter = world.exporter()
    healthy(exporter)
    faulted(world, exporter, caplog, Fault(kind="too_many_requests"), "rate_limited", other_fails=True)
    no_request_until(world, exporter, 60)
    recovers(world, exporter, after_seconds=2)


def test_a_403_that_is_not_a_rate_limit_stops_nothing(world: World, caplog: pytest.LogCaptureFixture) -> None:
    exporter = world.exporter()
    healthy(exporter)
    faulted(world, exporter, caplog, Fault(kind="status", status=403, path_regex=REPO_PATHS), "client_error")
    recovers(world, exporter, after_seconds=1)


def test_the_refresh_result_says_every_failure_without_a_value(world: World) -> None:
    world.fake.inject(Fault(kind="status", status=500, path_regex=REPO_PATHS))
    result = world.exporter().refresher()
    assert all(series(result, key, REPO).value is None for key in ALL)
    assert value(result, HOTFIX, OTHER) == 2.0
