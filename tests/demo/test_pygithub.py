"""PyGithub 2.10 itself reads runs, jobs and commits from the fake, across pages, at GitHub's cost."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from github import Auth, Github, GithubException

from exporter.demo import FakeGitHub, Fault
from tests.demo.conftest import NOW


@pytest.fixture
def github(demo: FakeGitHub) -> Iterator[Github]:
    client = Github(auth=Auth.Token("t0k3n"), base_url=demo.url, lazy=True, retry=None, seconds_between_requests=None)
    try:
        yield client
    finally:
        client.close()


def test_the_latest_completed_run_and_its_jobs_cost_two_gets(github: Github, demo: FakeGitHub) -> None:
    workflow = github.get_repo("Metta-AI/metta").get_workflow("checks.yml")
    run = workflow.get_runs(branch="main", status="completed")[0]
    jobs = list(run.jobs())
    assert (run.conclusion, run.head_branch) == ("success", "main")
    assert [job.conclusion for job in jobs] == ["success"] * 5
    assert [r.path for r in demo.requests] == [
        "/repos/Metta-AI/metta/actions/workflows/checks.yml/runs",
        f"/repos/Metta-AI/metta/actions/runs/{run.id}/jobs",
    ]
    assert demo.requests[0].query == {"branch": "main", "status": "completed"}


def test_runs_are_listed_across_pages(github: Github, demo: FakeGitHub) -> None:
    runs = github.get_repo("Metta-AI/metta").get_workflow("checks.yml").get_runs()
    github.per_page = 10
    ids = [run.id for run in runs]
    checks = [run for run in demo.repo("Metta-AI/metta").runs if run.workflow_file == "checks.yml"]
    assert len(ids) == len(set(ids)) == len(checks)
    assert runs.totalCount == len(ids)


def test_jobs_of_a_rerun_belong_to_its_second_attempt(github: Github, demo: FakeGitHub) -> None:
    rerun = next(r for r in demo.repo("Metta-AI/metta").runs if r.run_attempt == 2)
    run = github.get_repo("Metta-AI/metta").get_workflow_run(rerun.id)
    assert run.run_attempt == 2
    assert {job.run_attempt for job in run.jobs()} == {2}
    assert len(list(run.jobs(_filter="all"))) == 2 * len(rerun.jobs)


def test_commits_since_a_date_are_read_across_pages_one_get_each(github: Github, demo: FakeGitHub) -> None:
    since = NOW - timedelta(days=7)
    commits = list(github.get_repo("Metta-AI/metta").get_commits(sha="main", since=since))
    expected = [c for c in demo.repo("Metta-AI/metta").commits["main"] if c.committer_date >= since]
    assert sorted(c.sha for c in commits) == sorted(c.sha for c in expected)
    assert demo.count("/commits") == -(-len(expected) // 30) >= 3
    assert {r.query["since"] for r in demo.requests} == {since.strftime("%Y-%m-%dT%H:%M:%SZ")}
    merges = [c for c in commits if len(c.parents) == 2]
    assert merges and all(c.commit.message.startswith("Merge pull request") for c in merges)


def test_an_unknown_workflow_raises_pygithubs_404(github: Github) -> None:
    runs = github.get_repo("Metta-AI/metta").get_workflow("missing.yml").get_runs()
    with pytest.raises(GithubException) as raised:
        list(runs)
    assert raised.value.status == 404


def test_pygithub_follows_a_renamed_repository(demo: FakeGitHub) -> None:
    demo.inject(Fault("moved", path_regex="^/repos/Metta-AI/metta$"))
    with Github(base_url=demo.url, retry=None, seconds_between_requests=None) as eager:
        repo = eager.get_repo("Metta-AI/metta")
        assert repo.full_name == "Metta-AI/metta"
    assert demo.count(status=301) == 1


def test_pull_requests_are_read_across_pages_with_a_deleted_forks_head(github: Github, demo: FakeGitHub) -> None:
    github.per_page = 10
    pulls = list(github.get_repo("Metta-AI/metta").get_pulls(state="all", base="main"))
    expected = [p for p in demo.repo("Metta-AI/metta").pulls if p.base_ref == "main"]
    assert sorted(p.number for p in pulls) == sorted(p.number for p in expected)
    assert demo.count("/pulls") == -(-len(expected) // 10)
    assert [p.number for p in pulls if p.head.repo is None] == [p.number for p in expected if p.fork_deleted]
    assert all(p.merged_at >= p.created_at for p in pulls if p.merged_at)


def test_deployments_and_their_statuses_are_read_newest_first(github: Github) -> None:
    deployments = list(github.get_repo("Metta-AI/metta").get_deployments(environment="production"))
    statuses = [list(d.get_statuses()) for d in deployments[:3]]
    assert [d.created_at for d in deployments] == sorted((d.created_at for d in deployments), reverse=True)
    assert [s.state for s in statuses[0]] == ["in_progress", "queued"]
    assert [s.state for s in statuses[2]] == ["inactive", "success", "in_progress", "queued"]


def test_releases_and_the_commits_between_two_tags_are_read(github: Github) -> None:
    repo = github.get_repo("Metta-AI/metta")
    releases = list(repo.get_releases())
    published = [r for r in releases if not r.draft]
    comparison = repo.compare(published[1].tag_name, published[0].tag_name)
    commits = list(comparison.commits)
    assert [r.published_at for r in releases if r.draft] == [None]
    assert comparison.ahead_by == comparison.total_commits == len(commits) > 0
    dates = [c.commit.committer.date for c in commits]
    assert dates == sorted(dates)


def test_a_flaky_runs_first_attempt_and_runs_created_in_a_window_are_read(github: Github, demo: FakeGitHub) -> None:
    repo = github.get_repo("Metta-AI/metta")
    flaky = next(r for r in demo.repo("Metta-AI/metta").runs if r.run_attempt == 2)
    first = repo.get_workflow_run(flaky.id).get_attempt(1)
    assert (first.run_attempt, first.conclusion) == (1, "failure")
    since = (NOW - timedelta(days=2)).date().isoformat()
    runs = list(repo.get_workflow("checks.yml").get_runs(branch="main", created=f">={since}"))
    assert runs and all(r.created_at.date().isoformat() >= since for r in runs)
    assert len(runs) < len([r for r in demo.repo("Metta-AI/metta").runs if r.head_branch == "main"])
