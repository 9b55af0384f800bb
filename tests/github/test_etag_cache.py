"""The conditional-request cache under PyGithub, against the fake GitHub on loopback."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests

from exporter.cli import build
from exporter.demo import FakeGitHub, Fault
from exporter.github.etag_cache import CACHE_HEADER, REVALIDATED, ConditionalRequests
from exporter.github.transport import HttpRequest, Send
from tests.conftest import NOW, REPO, Wiring, commit, repo, run, settings_for
from tests.helpers import value

RUNS = f"/repos/{REPO}/actions/workflows/checks.yml/runs"
COMMITS = f"/repos/{REPO}/commits"


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as http:
        yield http


def sender(http: requests.Session) -> Send:
    """The innermost `Send`: one real GET to the fake."""

    def send(request: HttpRequest) -> requests.Response:
        return http.get(request.url, headers=request.headers, timeout=10)

    return send


def get(cache: ConditionalRequests, http: requests.Session, url: str, token: str = "one") -> requests.Response:
    request = HttpRequest("GET", url, {"Authorization": f"token {token}", "Accept": "application/json"}, 10)
    return cache(request, sender(http))


def test_a_repeated_get_is_sent_with_the_etag_and_answered_from_the_cache(
    fake: FakeGitHub, session: requests.Session
) -> None:
    fake.add_repo(repo(runs=[run(1)]))
    cache = ConditionalRequests()
    first = get(cache, session, fake.url + RUNS)
    second = get(cache, session, fake.url + RUNS)
    assert [r.status for r in fake.requests] == [200, 304]
    assert fake.requests[1].headers["if-none-match"] == first.headers["etag"]
    assert second.status_code == 200
    assert second.json() == first.json()
    assert second.headers[CACHE_HEADER] == REVALIDATED
    assert cache.stats().revalidated == 1


def test_a_revalidated_answer_carries_the_fresh_rate_limit_headers(fake: FakeGitHub, session: requests.Session) -> None:
    fake.add_repo(repo(runs=[run(1)]))
    cache = ConditionalRequests()
    first = get(cache, session, fake.url + RUNS)
    fake.points_used = 4000  # another client of the token spent points meanwhile
    second = get(cache, session, fake.url + RUNS)
    assert first.headers["x-ratelimit-remaining"] == "4999"
    assert second.headers["x-ratelimit-remaining"] == "1000"
    assert second.headers["x-github-request-id"] != first.headers["x-github-request-id"]


def test_two_tokens_never_share_an_entry(fake: FakeGitHub, session: requests.Session) -> None:
    fake.add_repo(repo(runs=[run(1)]))
    cache = ConditionalRequests()
    get(cache, session, fake.url + RUNS, token="one")
    get(cache, session, fake.url + RUNS, token="two")
    assert [r.status for r in fake.requests] == [200, 200]
    assert "if-none-match" not in fake.requests[1].headers
    assert cache.stats().entries == 2


def test_the_token_is_stored_nowhere_in_the_cache(fake: FakeGitHub, session: requests.Session) -> None:
    fake.add_repo(repo(runs=[run(1)]))
    cache = ConditionalRequests()
    get(cache, session, fake.url + RUNS, token="s3cr3t-token-value")
    stored = repr(cache._entries)  # the whole cache, keys and entries
    assert "s3cr3t-token-value" not in stored
    assert "s3cr3t" not in stored


def test_the_cache_keeps_at_most_its_entry_limit_dropping_the_least_recently_used(
    fake: FakeGitHub, session: requests.Session
) -> None:
    fake.add_repo(repo(runs=[run(1)], commits=[commit(1, "a"), commit(2, "b")]))
    cache = ConditionalRequests(max_entries=2)
    for path in (RUNS, COMMITS, RUNS, f"{COMMITS}?per_page=1"):
        get(cache, session, fake.url + path)
    stats = cache.stats()
    assert (stats.entries, stats.evicted) == (2, 1)
    fake.clear_requests()
    get(cache, session, fake.url + RUNS)  # used again after COMMITS, so kept
    get(cache, session, fake.url + COMMITS)  # the least recently used one was dropped
    assert [r.status for r in fake.requests] == [304, 200]


def test_the_first_eviction_is_told_once_with_the_settings_that_size_the_cache(
    fake: FakeGitHub, session: requests.Session, caplog: pytest.LogCaptureFixture
) -> None:
    fake.add_repo(repo(runs=[run(1)], commits=[commit(1, "a")]))
    cache = ConditionalRequests(max_entries=1)
    with caplog.at_level(logging.WARNING, logger="exporter.github.etag_cache"):
        for path in (RUNS, COMMITS, RUNS):
            get(cache, session, fake.url + path)
    assert cache.stats().evicted == 2
    (told,) = [record.getMessage() for record in caplog.records]
    assert "the HTTP cache is full (1 entries" in told and "EXPORTER_HTTP_CACHE_MAX_ENTRIES" in told


def test_the_cache_keeps_within_its_byte_limit(fake: FakeGitHub, session: requests.Session) -> None:
    fake.add_repo(repo(runs=[run(n, minutes_ago=n) for n in range(1, 30)]))
    cache = ConditionalRequests(max_bytes=1024)  # smaller than one compressed runs page
    get(cache, session, fake.url + RUNS)
    get(cache, session, fake.url + RUNS)
    assert [r.status for r in fake.requests] == [200, 200]
    assert cache.stats().bytes == 0


def test_a_server_error_on_a_conditional_request_is_not_served_from_the_cache(
    fake: FakeGitHub, session: requests.Session
) -> None:
    fake.add_repo(repo(runs=[run(1)]))
    cache = ConditionalRequests()
    get(cache, session, fake.url + RUNS)
    fake.inject(Fault("status", status=502, times=1))
    assert get(cache, session, fake.url + RUNS).status_code == 502
    assert get(cache, session, fake.url + RUNS).status_code == 200
    assert fake.requests[-1].status == 304


def test_a_callers_own_conditional_request_passes_through_untouched(
    fake: FakeGitHub, session: requests.Session
) -> None:
    fake.add_repo(repo(runs=[run(1)]))
    cache = ConditionalRequests()
    etag = get(cache, session, fake.url + RUNS).headers["etag"]
    request = HttpRequest("GET", fake.url + RUNS, {"Authorization": "token one", "If-None-Match": etag}, 10)
    assert cache(request, sender(session)).status_code == 304


def test_a_second_refresh_with_nothing_new_costs_no_points(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(1)], commits=[commit(1, "hotfix: login"), commit(2, "feature")]))
    exporter = wire()
    first = exporter.refresher()
    points = fake.points_used
    fake.clear_requests()
    second = exporter.refresher()
    assert fake.points_used == points
    assert [r.status for r in fake.requests] == [304, 304]  # runs and commits (a finished run's jobs are a fact)
    assert value(second, "commits.hotfix") == value(first, "commits.hotfix") == 1
    assert value(second, "ci.tests_passing_on_main") == 1


def test_the_commits_request_stays_the_same_all_day_so_later_refreshes_stay_free(fake: FakeGitHub) -> None:
    fake.add_repo(repo(runs=[run(1)], commits=[commit(1, "hotfix: old", days_ago=6.99), commit(2, "hotfix: a")]))
    moments = iter([NOW, NOW + timedelta(minutes=15), NOW + timedelta(minutes=15)])
    exporter = build(settings_for(fake), clock=lambda: next(moments))
    try:
        first = exporter.refresher()
        points = fake.points_used
        fake.clear_requests()
        later = exporter.refresher()  # 15 minutes on: the old hotfix left the 7-day window
    finally:
        exporter.collector.close(wait_seconds=30)
    assert fake.points_used == points
    assert fake.count("/commits", status=304) == 1
    assert (value(first, "commits.hotfix"), value(later, "commits.hotfix")) == (2, 1)


def test_with_conditional_requests_off_every_refresh_pays_in_full(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(1)]))
    exporter = wire(EXPORTER_CONDITIONAL_REQUESTS="false")
    exporter.refresher()
    points = fake.points_used
    fake.clear_requests()
    exporter.refresher()
    assert fake.points_used - points == 2  # runs and commits (a finished run's jobs are a fact)
    assert all("if-none-match" not in r.headers for r in fake.requests)
