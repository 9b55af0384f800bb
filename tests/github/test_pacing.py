"""Pacing under GitHub's secondary limits: points a minute spread evenly, requests in flight capped, waits bounded."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
import requests

from exporter.demo import FakeGitHub
from exporter.errors import SourceError
from exporter.github import transport
from exporter.github.credentials import TokenProvider
from exporter.github.pacing import RequestPacer
from exporter.github.source import GitHubSource
from exporter.metrics.registry import default_registry
from exporter.refresh import Refresher, RefreshResult
from tests.clocked import Clock, ClockedExporter, SimulatedTime
from tests.conftest import NOW, commit, repo, run, settings_for
from tests.helpers import value

REQUEST = transport.HttpRequest("GET", "https://api.github.com/rate_limit", {}, 10.0)


def answer(_: transport.HttpRequest) -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    return response


def wait_until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    """Poll with a deadline (no sleeps): fail if the condition never holds."""
    deadline = time.monotonic() + seconds
    polled = threading.Event()
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        polled.wait(0.005)


class HeldSends:
    """A `send` that holds every request until released, counting how many it holds at once."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.held = 0
        self.peak = 0
        self.sent = 0
        self._lock = threading.Lock()

    def __call__(self, request: transport.HttpRequest) -> requests.Response:
        with self._lock:
            self.held += 1
            self.peak = max(self.peak, self.held)
        try:
            assert self.release.wait(10), "never released"
            return answer(request)
        finally:
            with self._lock:
                self.held -= 1
                self.sent += 1


class Callers:
    """Threads each sending one request through a pacer; what each raised is kept; joined (bounded) at the end."""

    def __init__(self, pacer: RequestPacer, send: Callable[[transport.HttpRequest], requests.Response]) -> None:
        self._pacer, self._send = pacer, send
        self.threads: list[threading.Thread] = []
        self.errors: list[SourceError] = []

    def start(self, count: int = 1) -> None:
        for _ in range(count):
            thread = threading.Thread(target=self._call, daemon=True)
            thread.start()
            self.threads.append(thread)

    def _call(self) -> None:
        try:
            self._pacer.middleware(REQUEST, self._send)
        except SourceError as exc:
            self.errors.append(exc)

    def join(self, seconds: float = 10.0) -> None:
        for thread in self.threads:
            thread.join(timeout=seconds)
        assert not any(thread.is_alive() for thread in self.threads), "a caller is still waiting"


def send_times(pacer: RequestPacer, clock: SimulatedTime, count: int) -> list[float]:
    """When each of `count` requests, sent one after another, reached GitHub."""
    sent: list[float] = []

    def record(request: transport.HttpRequest) -> requests.Response:
        sent.append(clock())
        return answer(request)

    for _ in range(count):
        pacer.middleware(REQUEST, record)
    return sent


# --- the arithmetic, on a simulated clock --------------------------------------------------


def test_after_a_burst_of_one_seconds_worth_requests_go_one_every_sixty_over_p_seconds() -> None:
    clock = SimulatedTime()
    pacer = RequestPacer(720, 50, max_wait=600, clock=clock, sleep=clock.sleep)
    sent = send_times(pacer, clock, 36)
    assert pacer.burst == 12
    assert sent[:12] == [0.0] * 12
    assert sent[12:] == pytest.approx([k / 12 for k in range(1, 25)])
    stats = pacer.stats()
    assert (stats.requests, stats.paced) == (36, 24)
    assert stats.wait_seconds == pytest.approx(24 / 12)  # one after another: each waited one turn


@pytest.mark.parametrize(("points", "burst"), [(720, None), (120, 30), (7, 7), (1, None)])
def test_no_sixty_second_window_holds_more_requests_than_the_points_a_minute_whatever_the_pauses(
    points: int, burst: int | None
) -> None:
    clock = SimulatedTime()
    pacer = RequestPacer(points, 100, max_wait=3600, burst=burst, clock=clock, sleep=clock.sleep)
    sent: list[float] = []
    for index in range(8 * points + 40):
        sent += send_times(pacer, clock, 1)
        if index % 37 == 36:
            clock.sleep(45.0)  # an idle spell: the burst allowance builds up again
        elif index % 11 == 10:
            clock.sleep(3.0)
    # Any P + 1 requests in a row span a minute at least: no window [t, t + 60) holds more than P.
    assert min(later - earlier for earlier, later in zip(sent, sent[points:], strict=False)) >= 60.0 - 1e-9
    minutes: dict[int, int] = {}
    for moment in sent:
        minutes[int(moment // 60)] = minutes.get(int(moment // 60), 0) + 1
    assert max(minutes.values()) <= points


def test_under_sustained_demand_every_minute_carries_exactly_the_points_a_minute() -> None:
    clock = SimulatedTime()
    pacer = RequestPacer(120, 100, max_wait=3600, burst=10, clock=clock, sleep=clock.sleep)
    sent = send_times(pacer, clock, 5 * 120)
    assert [sum(1 for moment in sent if minute * 60 <= moment < (minute + 1) * 60) for minute in range(5)] == [120] * 5


def test_a_request_whose_turn_comes_after_its_time_fails_at_once_naming_the_setting() -> None:
    clock = SimulatedTime()
    pacer = RequestPacer(1, 50, max_wait=600, clock=clock, sleep=clock.sleep)
    with transport.using(transport.HttpHooks(time_left=lambda: -5.0)):
        assert send_times(pacer, clock, 1) == [0.0]  # no wait: pacing refuses nothing (the deadline is the refresh's)
    with transport.using(transport.HttpHooks(time_left=lambda: 59.0)), pytest.raises(SourceError) as refused:
        send_times(pacer, clock, 1)
    assert refused.value.reason == "timeout"
    assert "EXPORTER_GITHUB_POINTS_PER_MINUTE" in str(refused.value) and "60.0s away" in str(refused.value)
    assert clock() == 0.0  # refused without waiting
    with transport.using(transport.HttpHooks(time_left=lambda: 60.0)):
        assert send_times(pacer, clock, 1) == [60.0]  # a turn within its time is waited for
    short = RequestPacer(1, 50, max_wait=30, clock=clock, sleep=clock.sleep)  # no deadline known: max_wait
    send_times(short, clock, 1)
    with pytest.raises(SourceError, match="EXPORTER_GITHUB_POINTS_PER_MINUTE"):
        send_times(short, clock, 1)
    assert (pacer.stats().refused, short.stats().refused) == (1, 1)


def test_after_a_wait_a_rate_limit_met_meanwhile_stops_the_request() -> None:
    clock = SimulatedTime()
    said: list[SourceError | None] = [None]  # GitHub has not asked to wait
    pacer = RequestPacer(60, 50, max_wait=600, burst=1, clock=clock, sleep=clock.sleep, recheck=lambda: said[-1])
    assert send_times(pacer, clock, 1) == [0.0]
    said.append(SourceError("rate_limited", "GitHub asked the exporter to slow down"))
    with pytest.raises(SourceError) as refused:
        send_times(pacer, clock, 1)
    assert refused.value.reason == "rate_limited"
    assert pacer.stats().requests == 1


# --- requests in flight and the stopping event, on real threads ------------------------------


@pytest.fixture
def held() -> Iterator[HeldSends]:
    sends = HeldSends()
    try:
        yield sends
    finally:
        sends.release.set()


def test_requests_in_flight_never_pass_the_cap_and_a_freed_slot_lets_the_next_one_go(held: HeldSends) -> None:
    clock = SimulatedTime()
    pacer = RequestPacer(900, 2, max_wait=600, clock=clock, sleep=clock.sleep)
    callers = Callers(pacer, held)
    callers.start(5)
    wait_until(lambda: held.held == 2 and pacer.stats().waiting == 3)
    held.release.set()
    callers.join()
    assert (held.sent, held.peak, callers.errors) == (5, 2, [])
    stats = pacer.stats()
    assert (stats.in_flight, stats.peak_in_flight, stats.paced) == (0, 2, 3)


def test_a_request_that_gets_no_slot_in_its_time_fails_at_once_naming_the_setting(held: HeldSends) -> None:
    pacer = RequestPacer(900, 1, max_wait=600)
    callers = Callers(pacer, held)
    callers.start()
    wait_until(lambda: held.held == 1)
    with transport.using(transport.HttpHooks(time_left=lambda: 0.0)), pytest.raises(SourceError) as refused:
        pacer.middleware(REQUEST, answer)
    assert refused.value.reason == "timeout" and "EXPORTER_GITHUB_MAX_IN_FLIGHT" in str(refused.value)
    held.release.set()
    callers.join()
    assert held.sent == 1


def test_the_stopping_event_ends_a_wait_for_a_turn_at_once() -> None:
    stopping = threading.Event()
    pacer = RequestPacer(1, 50, max_wait=600, stopping=stopping)  # real clock: the next turn is a minute away
    pacer.middleware(REQUEST, answer)
    callers = Callers(pacer, answer)
    callers.start()
    wait_until(lambda: pacer.stats().waiting == 1)
    stopping.set()
    callers.join(seconds=5)
    assert [error.reason for error in callers.errors] == ["shutdown"]
    assert pacer.stats().requests == 1


def test_the_stopping_event_ends_a_wait_for_a_slot(held: HeldSends) -> None:
    stopping = threading.Event()
    pacer = RequestPacer(900, 1, max_wait=600, stopping=stopping)
    holder, waiter = Callers(pacer, held), Callers(pacer, answer)
    holder.start()
    wait_until(lambda: held.held == 1)
    waiter.start()
    wait_until(lambda: pacer.stats().waiting == 1)
    stopping.set()
    waiter.join(seconds=5)
    assert [error.reason for error in waiter.errors] == ["shutdown"]
    held.release.set()
    holder.join()


# --- the GitHub source and the exporter, against the fake on loopback ------------------------


def test_a_refresh_past_github_s_points_a_minute_stays_under_the_paced_rate_with_no_refusal(fake: FakeGitHub) -> None:
    # 918 requests (runs and commits each; the run's jobs are read only for EXPORTER_CI_REQUIRED_JOBS): more than
    # GitHub's 900 a minute
    names = [f"octo/app-{n:03d}" for n in range(459)]
    for name in names:
        fake.add_repo(repo(name, runs=[run(1)], commits=[commit(1, "hotfix: a")]))
    fake.secondary_points_per_minute, fake.max_concurrent = 900, 100
    clock = Clock()
    # One refresh thread: the fake counts each request at the simulated time it arrives, and with several
    # threads the clock would move on (one thread's wait) while another's request is still on its way.
    # (Each request then waits for the last answer: about 40 ms against the fake's keep-alive connections.)
    exporter = ClockedExporter(
        fake,
        clock,
        pacing_clock=clock,
        pacing_sleep=clock.advance,
        EXPORTER_REPOS=",".join(names),
        EXPORTER_GITHUB_CONCURRENCY="1",
        EXPORTER_GITHUB_RETRIES="0",
    )
    try:
        exporter.collector.refresh().result(timeout=100)
        scrape = exporter.scrape()  # of the refresh just made
    finally:
        exporter.close()
    assert (len(fake.requests), fake.secondary_refusals) == (918, 0)
    assert fake.peak_points_per_minute <= 720  # EXPORTER_GITHUB_POINTS_PER_MINUTE's default, burst included
    assert all(scrape.value("commits_hotfix", repo=name, branch="main") == 1.0 for name in names)
    stats = exporter.source.pacer.stats()
    assert scrape.value("system_health_exporter_github_paced_requests_total") == stats.paced
    assert scrape.value("system_health_exporter_github_pacing_wait_seconds_total") == pytest.approx(stats.wait_seconds)
    # 12 at once, 708 more a twelfth of a second apart (the last at 59 s), 12 at once at 60 s (a minute after the
    # first 12; the first of them waited), then the last 186 a twelfth apart, the last at 75.5 s.
    assert (stats.paced, stats.wait_seconds) == (918 - 12 - 11, pytest.approx(75.5))
    assert scrape.value("system_health_exporter_github_requests_in_flight_peak") == 1.0


def test_requests_in_flight_across_the_refresh_threads_never_pass_the_cap(fake: FakeGitHub) -> None:
    names = [f"octo/app-{n:02d}" for n in range(16)]
    for name in names:
        fake.add_repo(repo(name, runs=[run(1)], commits=[commit(1, "hotfix: a")]))
    fake.max_concurrent = 100
    fake.latency_seconds = 0.05  # each answer takes a while, so that 16 threads would overlap without the cap
    paced = SimulatedTime()
    exporter = ClockedExporter(
        fake,
        Clock(),
        pacing_clock=paced,
        pacing_sleep=paced.sleep,
        EXPORTER_REPOS=",".join(names),
        EXPORTER_GITHUB_CONCURRENCY="16",
        EXPORTER_GITHUB_MAX_IN_FLIGHT="4",
        EXPORTER_SCRAPE_WAIT_SECONDS="60",
    )
    try:
        scrape = exporter.scrape()
    finally:
        exporter.close()
    # Runs and commits of each (the run's jobs are read only for EXPORTER_CI_REQUIRED_JOBS)
    assert len(fake.requests) == 32 and fake.secondary_refusals == 0
    assert fake.peak_concurrency <= 4
    assert exporter.source.pacer.stats().peak_in_flight == 4
    assert scrape.value("system_health_exporter_github_requests_in_flight_peak") == 4.0


def source_for(fake: FakeGitHub, stopping: threading.Event | None = None, **env: str) -> tuple[GitHubSource, Refresher]:
    settings = settings_for(fake, EXPORTER_GITHUB_RETRIES="0", **env)
    if stopping is None:  # on simulated time
        paced = SimulatedTime()
        source = GitHubSource(settings, TokenProvider(settings), pacing_clock=paced, pacing_sleep=paced.sleep)
    else:  # on the real clock, as `exporter.cli.build` wires it
        source = GitHubSource(settings, TokenProvider(settings), stopping=stopping)
    refresher = Refresher(
        settings, default_registry().configured(settings), source, clock=lambda: NOW, stopping=stopping
    )
    return source, refresher


def test_a_wait_past_the_refresh_deadline_fails_the_series_at_once_with_timeout_naming_the_setting(
    fake: FakeGitHub,
) -> None:
    fake.add_repo(repo(runs=[run(1)], commits=[commit(1, "hotfix: a")]))
    source, refresher = source_for(fake, EXPORTER_GITHUB_POINTS_PER_MINUTE="1", EXPORTER_REFRESH_DEADLINE_SECONDS="30")
    result = refresher()
    # The runs list went at once (the run's jobs are read only for EXPORTER_CI_REQUIRED_JOBS); the commits' turn
    # would come a minute later, past the deadline
    assert len(fake.requests) == 1
    assert value(result, "ci.tests_passing_on_main") == 1.0
    commits = [series for series in result.series if series.key.startswith("commits.")]
    assert len(commits) == 2 and {series.reason for series in commits} == {"timeout"}
    assert all("EXPORTER_GITHUB_POINTS_PER_MINUTE" in (series.error or "") for series in commits)
    assert source.pacer.stats().wait_seconds == 0.0  # failed at once, without waiting


def test_the_exporter_shutting_down_ends_a_refresh_waiting_for_its_turn(fake: FakeGitHub) -> None:
    fake.add_repo(repo(runs=[run(1)], commits=[commit(1, "hotfix: a")]))
    stopping = threading.Event()
    source, refresher = source_for(fake, stopping, EXPORTER_GITHUB_POINTS_PER_MINUTE="1")  # the real clock
    results: list[RefreshResult] = []
    thread = threading.Thread(target=lambda: results.append(refresher()), daemon=True)
    thread.start()
    wait_until(lambda: source.pacer.stats().waiting == 1)  # the commits' request, a minute from its turn
    stopping.set()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert len(fake.requests) == 1
    assert "shutdown" in {series.reason for series in results[0].series}
