"""GitHub's rate limits: exposed as gauges, obeyed without sleeping, a reserve left for the token's other users."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import requests

from exporter import catalog
from exporter.demo import FakeGitHub, Fault
from exporter.github.rate_limit import RateLimitState, retry_after_seconds
from tests.clocked import Clock, ClockedExporter, Scrape
from tests.conftest import REPO, commit, repo, run

LIMIT = "system_health_exporter_github_rate_limit_limit"
REMAINING = "system_health_exporter_github_rate_limit_remaining"
RESET = "system_health_exporter_github_rate_limit_reset_timestamp_seconds"
ENV = {
    "EXPORTER_GITHUB_RETRIES": "0",
    "EXPORTER_GITHUB_TIMEOUT_SECONDS": "1",
    "EXPORTER_CACHE_TTL_SECONDS": "1",
    "EXPORTER_SCRAPE_WAIT_SECONDS": "30",
}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def exporter(fake: FakeGitHub, clock: Clock) -> Iterator[ClockedExporter]:
    fake.add_repo(repo(runs=[run(1)], commits=[commit(1, "hotfix: a")]))
    built = ClockedExporter(fake, clock, **ENV)
    try:
        yield built
    finally:
        built.close()


def errors(scrape: Scrape, reason: str) -> float | None:
    labels = {"repo": REPO, "metric": "commits.hotfix", "reason": reason}
    return scrape.value("system_health_exporter_refresh_errors_total", **labels)


def hotfixes(scrape: Scrape) -> float | None:
    return scrape.value("commits_hotfix", repo=REPO, branch="main")


def answer(status: int = 200, message: str = "", **headers: str) -> requests.Response:
    """A GitHub answer with these headers (underscores for dashes) and an error message as its body."""
    response = requests.Response()
    response.status_code = status
    response.headers.update({name.replace("_", "-"): text for name, text in headers.items()})
    response.raw = io.BytesIO(json.dumps({"message": message}).encode() if message else b"")
    return response


def test_the_gauges_show_what_github_last_reported(fake: FakeGitHub, exporter: ClockedExporter) -> None:
    scrape = exporter.scrape()
    assert scrape.value(LIMIT) == 5000.0
    # Runs and commits, a point each (the run's jobs are read only for EXPORTER_CI_REQUIRED_JOBS)
    assert scrape.value(REMAINING) == 5000.0 - fake.points_used == 4998.0
    assert scrape.value(RESET) == exporter.clock.now + 3600  # the fake's window opened at the first request


def test_the_gauges_are_absent_until_github_reported_them(fake: FakeGitHub, exporter: ClockedExporter) -> None:
    fake.inject(Fault(kind="refuse"))
    scrape = exporter.scrape()
    assert errors(scrape, "connection") == 1.0
    assert (scrape.value(LIMIT), scrape.value(REMAINING), scrape.value(RESET)) == (None, None, None)
    assert f"# TYPE {REMAINING} gauge" in scrape.text


def test_every_rate_limit_gauge_is_in_the_catalog() -> None:
    names = {entry.name for entry in catalog.SELF_METRICS}
    assert {LIMIT, REMAINING, RESET} <= names


def test_a_refresh_below_the_reserve_waits_for_the_reset_without_calling_github(
    fake: FakeGitHub, exporter: ClockedExporter, clock: Clock
) -> None:
    first = exporter.scrape()
    assert hotfixes(first) == 1.0
    reset = first.value(RESET)
    assert reset is not None

    fake.points_used = 4950  # the token's other users spent the rest: 50 left, under the reserve of 100
    clock.advance(60)
    fake.clear_requests()
    second = exporter.scrape()
    assert len(fake.requests) == 1  # the first answer said 50 left: the refresh spent no more
    assert second.value(REMAINING) == 50.0
    assert hotfixes(second) == 1.0
    assert errors(second, "rate_limited") == 1.0

    clock.advance(60)
    fake.clear_requests()
    third = exporter.scrape()
    assert fake.requests == []  # started under the reserve, before the reset: no request at all
    assert hotfixes(third) == 1.0
    assert errors(third, "rate_limited") == 2.0

    fake.repo(REPO).commits["main"].append(commit(2, "hotfix: b"))
    clock.now = reset + 1
    after = exporter.scrape()
    assert hotfixes(after) == 2.0
    assert after.value(REMAINING) == 5000.0 - fake.points_used  # a new window (304s cost no point)
    assert after.value("system_health_exporter_metric_success", repo=REPO, metric="commits.hotfix") == 1.0


def test_the_reserve_is_a_setting(fake: FakeGitHub, clock: Clock) -> None:
    fake.add_repo(repo(runs=[run(1)]))
    fake.points_used = 4950
    exporter = ClockedExporter(fake, clock, EXPORTER_RATE_LIMIT_RESERVE="10", **ENV)
    try:
        scrape = exporter.scrape()
    finally:
        exporter.close()
    assert scrape.value("system_health_exporter_metric_success", repo=REPO, metric="commits.hotfix") == 1.0
    # 50 left, then runs and commits, a point each (the run's jobs are read only for EXPORTER_CI_REQUIRED_JOBS)
    assert scrape.value(REMAINING) == 5000.0 - fake.points_used == 48.0


def test_the_reserve_is_capped_at_a_tenth_of_the_limit_so_anonymous_access_still_spends() -> None:
    state = RateLimitState(reserve=100, clock=lambda: 1000.0)
    state.observe(answer(x_ratelimit_limit="60", x_ratelimit_remaining="7", x_ratelimit_reset="4600"))
    assert state.refusal() is None
    state.observe(answer(x_ratelimit_limit="60", x_ratelimit_remaining="5", x_ratelimit_reset="4600"))
    refusal = state.refusal()
    assert refusal is not None and refusal.reason == "rate_limited"
    assert "5 of 60" in str(refusal) and "reserve 6" in str(refusal)


def test_a_reserve_of_zero_still_stops_at_zero_remaining() -> None:
    state = RateLimitState(reserve=0, clock=lambda: 1000.0)
    state.observe(answer(x_ratelimit_limit="5000", x_ratelimit_remaining="1", x_ratelimit_reset="4600"))
    assert state.refusal() is None
    state.observe(answer(x_ratelimit_limit="5000", x_ratelimit_remaining="0", x_ratelimit_reset="4600"))
    assert state.refusal() is not None


def test_the_budget_is_spendable_again_once_the_reset_has_passed() -> None:
    now = {"t": 1000.0}
    state = RateLimitState(reserve=100, clock=lambda: now["t"])
    state.observe(answer(x_ratelimit_limit="5000", x_ratelimit_remaining="3", x_ratelimit_reset="1600"))
    assert state.refusal() is not None
    now["t"] = 1600.0
    assert state.refusal() is None


def test_limits_of_other_resources_than_core_are_not_mistaken_for_it() -> None:
    state = RateLimitState(reserve=100, clock=lambda: 1000.0)
    state.observe(answer(x_ratelimit_limit="30", x_ratelimit_remaining="0", x_ratelimit_resource="search"))
    assert state.snapshot().remaining is None
    assert state.refusal() is None


def test_a_403_that_is_not_a_rate_limit_asks_for_no_wait() -> None:
    state = RateLimitState(reserve=100, clock=lambda: 1000.0)
    state.observe(answer(403, x_ratelimit_limit="5000", x_ratelimit_remaining="4000", x_ratelimit_reset="4600"))
    assert state.wait_until is None
    assert state.refusal() is None


def test_a_secondary_limit_403_without_retry_after_waits_a_minute() -> None:
    state = RateLimitState(reserve=100, clock=lambda: 1000.0)
    message = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
    state.observe(answer(403, message, x_ratelimit_remaining="4000", x_ratelimit_reset="4600"))
    assert state.wait_until == 1060.0
    assert state.refusal() is not None


def test_retry_after_is_read_as_seconds_or_as_an_http_date() -> None:
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC).timestamp()
    assert retry_after_seconds("120", now) == 120.0
    assert retry_after_seconds("Fri, 20 Nov 2026 12:01:30 GMT", now) == 90.0
    assert retry_after_seconds("Fri, 20 Nov 2026 11:00:00 GMT", now) == 0.0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


def test_an_absurd_retry_after_waits_an_hour_at_most() -> None:
    state = RateLimitState(reserve=100, clock=lambda: 1000.0)
    state.observe(answer(429, retry_after="99999999"))
    assert state.wait_until == 1000.0 + 3600


def test_a_refused_github_token_is_not_sent_again_before_a_restart(
    fake: FakeGitHub, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    fake.add_repo(repo("octo/app", runs=[run(1)]))
    fake.add_repo(repo("octo/other", runs=[run(2)]))
    fake.valid_tokens = {"another-token"}
    two_repos = {"EXPORTER_REPOS": "octo/app,octo/other", "EXPORTER_GITHUB_CONCURRENCY": "1"}
    exporter = ClockedExporter(fake, clock, **two_repos, **ENV)
    try:
        first = exporter.scrape()
        assert len(fake.requests) == 1  # one 401, then not one more request with that token
        assert errors(first, "unauthorized") == 1.0
        clock.advance(600)
        fake.clear_requests()
        with caplog.at_level(logging.WARNING):
            second = exporter.scrape()
    finally:
        exporter.close()
    assert fake.requests == []
    assert errors(second, "unauthorized") == 2.0
    assert "restart" in caplog.text and "test-token" not in caplog.text


def test_a_secondary_limit_fails_the_refresh_visibly_keeps_the_values_and_recovers_after_retry_after(
    fake: FakeGitHub, exporter: ClockedExporter, clock: Clock
) -> None:
    first = exporter.scrape()  # at the start of a minute on the shared clock
    assert hotfixes(first) == 1.0
    fake.secondary_points_per_minute = fake.peak_points_per_minute  # one refresh's worth a minute, all spent

    fake.repo(REPO).commits["main"].append(commit(2, "hotfix: b"))
    clock.advance(20)
    fake.clear_requests()
    limited = exporter.scrape()
    assert [r.status for r in fake.requests] == [403]  # the first request met the limit; no other went out
    assert fake.requests[0].headers["authorization"].endswith("test-token")
    assert hotfixes(limited) == 1.0  # the value it had, not a failure turned into data
    assert errors(limited, "rate_limited") == 1.0
    assert limited.value("system_health_exporter_metric_success", repo=REPO, metric="commits.hotfix") == 0.0

    clock.advance(30)  # still before the Retry-After of 40 s: the exporter does not ask
    fake.clear_requests()
    waiting = exporter.scrape()
    assert fake.requests == []
    assert (hotfixes(waiting), errors(waiting, "rate_limited")) == (1.0, 2.0)

    clock.advance(11)  # past Retry-After: a new minute of points
    recovered = exporter.scrape()
    assert hotfixes(recovered) == 2.0
    assert recovered.value("system_health_exporter_metric_success", repo=REPO, metric="commits.hotfix") == 1.0
    assert fake.secondary_refusals == 1
