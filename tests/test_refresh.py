"""A refresh: request cost, isolation between repositories and between metrics."""

from __future__ import annotations

import threading

import pytest
import requests

from exporter.demo import FakeGitHub, Fault
from exporter.github.credentials import TokenProvider
from exporter.github.source import GitHubSource
from exporter.github.transport import HttpHooks, HttpRequest, Send
from exporter.metrics.registry import MetricRegistry, default_registry, system_health_metric
from exporter.metrics.repo_data import RepoData
from exporter.refresh import Refresher
from tests.conftest import NOW, Wiring, commit, repo, run, settings_for
from tests.helpers import series, value


@pytest.mark.parametrize("commit_count,pages", [(5, 1), (100, 1), (101, 2), (250, 3)])
def test_a_refresh_costs_one_get_plus_one_per_commit_page(
    fake: FakeGitHub, wire: Wiring, commit_count: int, pages: int
) -> None:
    fake.add_repo(repo(runs=[run(1)], commits=[commit(n, "chore") for n in range(commit_count)]))
    wire().refresher()
    assert fake.count("/actions/workflows/checks.yml/runs") == 1
    assert fake.count("/jobs") == 0  # the run's jobs are read only for EXPORTER_CI_REQUIRED_JOBS
    assert fake.count("/commits") == pages
    assert len(fake.requests) == 1 + pages


def test_one_failing_repository_leaves_the_other_untouched(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo("octo/good", runs=[run(1)], commits=[commit(1, "hotfix")]))
    fake.add_repo(repo("octo/bad", runs=[run(2)]))
    fake.inject(Fault(kind="status", status=500, path_regex=r"^/repos/octo/bad/"))
    result = wire(EXPORTER_REPOS="octo/good,octo/bad").refresher()
    assert value(result, "ci.tests_passing_on_main", "octo/good") == 1.0
    assert value(result, "commits.hotfix", "octo/good") == 1.0
    for key in ("ci.tests_passing_on_main", "commits.hotfix", "commits.reverts"):
        failed = series(result, key, "octo/bad")
        assert (failed.ok, failed.reason, failed.value) == (False, "server_error", None)


def test_a_metric_that_raises_affects_only_its_own_series(fake: FakeGitHub) -> None:
    @system_health_metric(metric_key="broken.metric", description="always raises")
    def broken(data: RepoData) -> float:
        raise ZeroDivisionError("bug")

    fake.add_repo(repo(runs=[run(1)]))
    settings = settings_for(fake)
    registry = MetricRegistry([*default_registry(), broken.__system_health_metric__])  # type: ignore[attr-defined]
    result = Refresher(settings, registry, GitHubSource(settings, TokenProvider(settings)), clock=lambda: NOW)()
    assert series(result, "broken.metric").reason == "metric_error"
    assert value(result, "ci.tests_passing_on_main") == 1.0


def test_labels_are_repo_branch_and_workflow_for_ci(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(1)]))
    result = wire(EXPORTER_BRANCH="main").refresher()
    assert dict(series(result, "ci.tests_passing_on_main").labels) == {
        "repo": "octo/app",
        "branch": "main",
        "workflow": "checks.yml",
    }
    assert dict(series(result, "commits.hotfix").labels) == {"repo": "octo/app", "branch": "main"}


def test_the_token_is_sent_as_a_bearer_or_token_header(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(1)]))
    fake.valid_tokens = {"test-token"}
    assert value(wire().refresher(), "ci.tests_passing_on_main") == 1.0
    fake.valid_tokens = {"another"}
    assert series(wire().refresher(), "ci.tests_passing_on_main").reason == "unauthorized"


def test_a_refresh_stopped_mid_request_sends_no_new_request_and_skips_the_repositories_not_started(
    fake: FakeGitHub,
) -> None:
    for name in ("octo/a", "octo/b"):
        fake.add_repo(repo(name, runs=[run(1)], commits=[commit(1, "hotfix")]))
    settings = settings_for(fake, EXPORTER_REPOS="octo/a,octo/b", EXPORTER_GITHUB_CONCURRENCY="1")
    stopping = threading.Event()

    def shutdown_during_the_first_request(request: HttpRequest, send: Send) -> requests.Response:
        stopping.set()  # the exporter starts shutting down while this request is in flight
        return send(request)

    hooks = HttpHooks([shutdown_during_the_first_request])
    source = GitHubSource(settings, TokenProvider(settings), hooks=hooks, stopping=stopping)
    result = Refresher(
        settings, default_registry().configured(settings), source, clock=lambda: NOW, stopping=stopping
    )()
    assert [r.path for r in fake.requests] == ["/repos/octo/a/actions/workflows/checks.yml/runs"]
    # The request in flight completes octo/a's CI (the run's jobs are read only for EXPORTER_CI_REQUIRED_JOBS);
    # everything else would need a new request
    assert value(result, "ci.tests_passing_on_main", "octo/a") == 1.0
    assert {(s.repo, s.key, s.reason) for s in result.series} == {
        ("octo/a", "ci.tests_passing_on_main", None),
        ("octo/a", "commits.hotfix", "shutdown"),
        ("octo/a", "commits.reverts", "shutdown"),
        ("octo/b", "ci.tests_passing_on_main", "shutdown"),
        ("octo/b", "commits.hotfix", "shutdown"),
        ("octo/b", "commits.reverts", "shutdown"),
    }
    assert "shutting down" in (series(result, "commits.hotfix", "octo/a").error or "")
    assert "shutting down" in (series(result, "ci.tests_passing_on_main", "octo/b").error or "")
