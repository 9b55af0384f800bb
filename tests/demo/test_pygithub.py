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
    assert len(ids) == len(set(ids)) == len(demo.repo("Metta-AI/metta").runs)
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
