"""What a refresh costs GitHub (issue 6, goals 1-3), as counted requests and points, never times."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

import requests

from exporter.demo import FakeCommit, FakeGitHub, FakeRepo
from exporter.github import transport
from exporter.github.credentials import TokenProvider
from exporter.github.source import GitHubSource
from exporter.metrics.registry import default_registry
from exporter.refresh import Refresher
from exporter.settings import Settings
from tests.clocked import SimulatedTime
from tests.conftest import NOW, REPO, Wiring, commit, repo, run, settings_for
from tests.old_job import old_job_refresh

GITHUB_MAX_CONCURRENT_REQUESTS = 100


def commits(count: int) -> list[FakeCommit]:
    """`count` commits inside the 7-day window."""
    return [commit(n, f"change {n}", days_ago=6 * (n + 1) / (count + 1)) for n in range(count)]


def refresh_cost(fake: FakeGitHub, refresh: Callable[[], object]) -> tuple[int, int]:
    """(requests, points) one refresh costs."""
    fake.clear_requests()
    points = fake.points_used
    refresh()
    return len(fake.requests), fake.points_used - points


def test_a_refresh_of_a_repository_with_under_100_commits_makes_two_gets(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(1)], commits=commits(90)))
    assert refresh_cost(fake, wire().refresher) == (2, 2)  # the run's jobs are read only for EXPORTER_CI_REQUIRED_JOBS
    assert sorted(r.path.rsplit("/", 1)[-1] for r in fake.requests) == ["commits", "runs"]


def test_each_further_page_of_commits_costs_one_more_get(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(1)], commits=commits(290)))
    assert refresh_cost(fake, wire().refresher) == (4, 4)  # runs and 3 commit pages (no jobs without required jobs)


def test_a_refresh_costs_less_than_the_old_jobs_algorithm_even_at_its_best(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(1)], commits=commits(90)))
    ours = refresh_cost(fake, wire().refresher)
    as_it_ran = refresh_cost(fake, lambda: old_job_refresh(fake.url, "t", REPO, "main", "checks.yml", NOW))
    at_its_best = refresh_cost(
        fake, lambda: old_job_refresh(fake.url, "t", REPO, "main", "checks.yml", NOW, per_page=100)
    )
    assert as_it_ran == (10, 10)  # get_repo, 2 x 3 commit pages, get_workflow, runs, jobs
    assert at_its_best == (6, 6)
    assert ours == (2, 2)  # runs and commits: the run's jobs are read only for EXPORTER_CI_REQUIRED_JOBS


def test_a_second_refresh_with_nothing_new_costs_zero_points(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(1)], commits=commits(290)))
    exporter = wire()
    exporter.refresher()
    assert refresh_cost(fake, exporter.refresher) == (4, 0)  # runs and 3 commit pages (304)


def test_one_new_commit_costs_only_the_commits_page(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(1)], commits=commits(90)))
    exporter = wire()
    exporter.refresher()
    fake.repo(REPO).commits["main"].append(commit(999, "hotfix: new", days_ago=0.01))
    assert refresh_cost(fake, exporter.refresher) == (2, 1)  # runs (304) and commits
    assert [r.path for r in fake.requests if r.status == 200] == [f"/repos/{REPO}/commits"]


def test_one_new_ci_run_costs_only_the_runs_list_and_its_jobs(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(1)], commits=commits(90)))
    exporter = wire(EXPORTER_CI_REQUIRED_JOBS="tests")  # the run's jobs are read only for required jobs
    exporter.refresher()
    fake.repo(REPO).runs.append(run(2, minutes_ago=1))  # successful: a failed run's jobs are not read
    assert refresh_cost(fake, exporter.refresher) == (3, 2)
    assert fake.count("/jobs", status=200) == 1
    assert fake.count("/commits", status=304) == 1


class Gate:
    """A `transport` middleware that holds each request until `target` are in flight together
    (or 10 s passed), recording the most ever in flight."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.in_flight = 0
        self.peak = 0
        self._open = False
        self._changed = threading.Condition()

    def __call__(self, request: transport.HttpRequest, send: transport.Send) -> requests.Response:
        with self._changed:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            if self.in_flight >= self.target:
                self._open = True
                self._changed.notify_all()
            self._changed.wait_for(lambda: self._open, timeout=10)
        try:
            return send(request)
        finally:
            with self._changed:
                self.in_flight -= 1


def fifty_repos(fake: FakeGitHub) -> list[str]:
    names = [f"octo/app-{n:02d}" for n in range(50)]
    for name in names:
        fake.add_repo(FakeRepo(name, runs=[run(1)], commits={"main": commits(3)}))
    return names


def refresh_through(gate: Gate, settings: Settings) -> None:
    paced = SimulatedTime()  # 100 requests at once: the pacer's waits on simulated time
    source = GitHubSource(
        settings,
        TokenProvider(settings),
        hooks=transport.HttpHooks([gate]),
        pacing_clock=paced,
        pacing_sleep=paced.sleep,
    )
    result = Refresher(settings, default_registry().configured(settings), source)()
    assert not result.failed


def test_requests_of_all_fifty_repositories_are_in_flight_together(fake: FakeGitHub) -> None:
    names = fifty_repos(fake)
    gate = Gate(target=50)
    refresh_through(gate, settings_for(fake, EXPORTER_REPOS=",".join(names), EXPORTER_GITHUB_CONCURRENCY="50"))
    assert gate.peak == 50
    assert len(fake.requests) == 100  # two round trips each (runs, commits): the critical path of the whole refresh


def test_the_default_concurrency_is_reached_and_never_exceeded(fake: FakeGitHub) -> None:
    names = fifty_repos(fake)
    settings = settings_for(fake, EXPORTER_REPOS=",".join(names))
    gate = Gate(target=settings.github_concurrency)
    refresh_through(gate, settings)
    assert gate.peak == settings.github_concurrency


def test_the_default_concurrency_refreshes_fifty_repositories_within_ten_round_trips() -> None:
    concurrency = Settings.from_env({}).github_concurrency
    round_trips = math.ceil(50 / concurrency) * 2  # runs -> commits, one after another per repository (no jobs)
    assert round_trips < 10  # under 1 s at 100 ms a request
    assert concurrency <= GITHUB_MAX_CONCURRENT_REQUESTS // 3  # room for the token's other clients
