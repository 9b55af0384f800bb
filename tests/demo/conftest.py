"""Fixtures: fake GitHub servers on loopback, always stopped by the fixture."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from exporter.demo import FakeCommit, FakeGitHub, FakeJob, FakeRepo, FakeRun, demo_github
from exporter.demo.model import FakeDeployment, FakeDeploymentStatus, FakePull, FakeRelease

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def demo() -> Iterator[FakeGitHub]:
    fake = demo_github(NOW)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


def edge_repo() -> FakeRepo:
    """Data at GitHub's edges: null conclusions, a second attempt, a fork's pull request run on its `main`,
    merge commits, queued jobs, two workflows."""
    runs = [
        FakeRun(
            id=11,
            conclusion=None,
            status="in_progress",
            created_at=NOW - timedelta(minutes=5),
            jobs=[FakeJob("tests", None, "in_progress"), FakeJob("lint", None, "queued")],
        ),
        FakeRun(
            id=10,
            conclusion="failure",
            run_attempt=2,
            created_at=NOW - timedelta(hours=1),
            jobs=[FakeJob("tests", "failure"), FakeJob("lint", "skipped")],
        ),
        FakeRun(
            id=9,
            conclusion="startup_failure",
            head_branch="feature/x",
            event="pull_request",
            created_at=NOW - timedelta(hours=2),
            jobs=[],
        ),
        FakeRun(
            id=8,
            conclusion="failure",
            event="pull_request",
            head_repository="someone/case",
            created_at=NOW - timedelta(hours=3),
            jobs=[FakeJob("tests", "failure")],
        ),
    ]
    commits = [
        FakeCommit("a" * 40, "Merge pull request #12 from org/hotfix-login", NOW - timedelta(hours=1), parents=2),
        FakeCommit("b" * 40, 'Revert "Add login" (#11)', NOW - timedelta(hours=2)),
        FakeCommit("c" * 40, "Initial commit", NOW - timedelta(days=30), parents=0),
    ]
    return FakeRepo(
        "edge/case",
        workflows=["checks.yml", "release.yml"],
        runs=runs,
        commits={"main": commits},
        pulls=edge_pulls(),
        deployments=edge_deployments(),
        releases=edge_releases(),
    )


def edge_pulls() -> list[FakePull]:
    """A deleted fork's merged PR (head.repo null), a live fork's draft, a bot's closed one, bare defaults."""
    return [
        FakePull(
            7,
            "Fix typo",
            NOW - timedelta(days=3),
            merged_at=NOW - timedelta(days=1),
            merge_commit_sha="a" * 40,
            fork="gone/case",
            fork_deleted=True,
            author="gone",
        ),
        FakePull(8, "WIP", NOW - timedelta(hours=3), draft=True, fork="friend/case", labels=["help wanted"]),
        FakePull(9, "Bump x", NOW - timedelta(days=2), closed_at=NOW - timedelta(days=1), author="dependabot[bot]"),
        FakePull(10, "Bare", NOW - timedelta(days=40)),
    ]


def edge_deployments() -> list[FakeDeployment]:
    """A deployment without statuses yet, and a transient one that went through every state GitHub has."""
    states = ("queued", "pending", "in_progress", "error", "failure", "success", "inactive")
    return [
        FakeDeployment(21, "b" * 40, NOW - timedelta(minutes=1), environment="production"),
        FakeDeployment(
            20,
            "c" * 40,
            NOW - timedelta(hours=2),
            environment="pr-12",
            ref="feature/x",
            task="deploy:migrations",
            transient=True,
            creator="octocat",
            statuses=[FakeDeploymentStatus(s, NOW - timedelta(hours=2, minutes=-i)) for i, s in enumerate(states)],
        ),
    ]


def edge_releases() -> list[FakeRelease]:
    """A draft (no tag, no date, no archives), a prerelease without a name or body, a plain release."""
    return [
        FakeRelease("v2.0.0", NOW - timedelta(hours=1), draft=True),
        FakeRelease("v2.0.0-rc.1", NOW - timedelta(days=1), sha="b" * 40, prerelease=True),
        FakeRelease("v1.0.0", NOW - timedelta(days=30), sha="c" * 40, name="First", body="Hello"),
    ]


@pytest.fixture
def edge() -> Iterator[FakeGitHub]:
    # An organisation's list (discovery) shows an empty repository and an archived private fork with topics.
    topics = ["legacy", "python"]
    archived_fork = FakeRepo("edge/old-fork", archived=True, fork=True, topics=topics, visibility="private")
    fake = FakeGitHub(repos=[edge_repo(), FakeRepo("edge/empty", commits={}), archived_fork])
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def client(demo: FakeGitHub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=demo.url, headers={"Authorization": "token t0k3n"}, timeout=10) as http:
        yield http
