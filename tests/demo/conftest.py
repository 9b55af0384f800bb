"""Fixtures: fake GitHub servers on loopback, always stopped by the fixture."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from exporter.demo import FakeCommit, FakeGitHub, FakeJob, FakeRepo, FakeRun, demo_github

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
    return FakeRepo("edge/case", workflows=["checks.yml", "release.yml"], runs=runs, commits={"main": commits})


@pytest.fixture
def edge() -> Iterator[FakeGitHub]:
    fake = FakeGitHub(repos=[edge_repo(), FakeRepo("edge/empty", commits={})])
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def client(demo: FakeGitHub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=demo.url, headers={"Authorization": "token t0k3n"}, timeout=10) as http:
        yield http
