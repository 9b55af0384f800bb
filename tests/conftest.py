"""Shared fixtures: a fake GitHub on loopback and exporters wired against it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from exporter.cli import Exporter, build
from exporter.demo import FakeCommit, FakeGitHub, FakeJob, FakeRepo, FakeRun
from exporter.settings import Settings

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
REPO = "octo/app"
# The CI flow and pull-request flow metrics (issue 10) read more of GitHub than the tests written before
# them count (requests, series): `settings_for` switches them off unless a test sets
# EXPORTER_METRICS_DISABLED itself, e.g. to "" (FLOW_ON) as tests/metrics/test_ci_flow.py and test_prs.py do.
FLOW_METRICS = (
    "ci.main_red_seconds",
    "ci.runs",
    "ci.flaky_runs",
    "ci.run_duration_seconds",
    "prs.open",
    "prs.stale",
    "prs.merged",
    "prs.time_to_merge_seconds",
)
FLOW_ON = {"EXPORTER_METRICS_DISABLED": ""}


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    """An empty fake GitHub, stopped after the test."""
    github = FakeGitHub()
    github.start()
    try:
        yield github
    finally:
        github.stop()


def settings_for(fake: FakeGitHub, **env: str) -> Settings:
    """Settings pointing at the fake, with REPO watched unless EXPORTER_REPOS says otherwise."""
    values = {"EXPORTER_GITHUB_API_URL": fake.url, "GITHUB_TOKEN": "test-token", "EXPORTER_REPOS": REPO}
    values["EXPORTER_METRICS_DISABLED"] = ",".join(FLOW_METRICS)
    values.update(env)
    return Settings.from_env(values)


@pytest.fixture
def wire(fake: FakeGitHub) -> Iterator[Wiring]:
    """Builds exporters against the fake with a fixed clock; closes them after the test."""
    wiring = Wiring(fake)
    try:
        yield wiring
    finally:
        wiring.close()


class Wiring:
    """Makes exporters whose clocks the test controls."""

    def __init__(self, fake: FakeGitHub) -> None:
        self.fake = fake
        self.wall = NOW.timestamp()
        self._built: list[Exporter] = []

    def __call__(self, **env: str) -> Exporter:
        exporter = build(settings_for(self.fake, **env), clock=lambda: NOW, wall=lambda: self.wall)
        self._built.append(exporter)
        return exporter

    def close(self) -> None:
        for exporter in self._built:
            exporter.collector.close(wait_seconds=30)


def run(
    run_id: int,
    conclusion: str | None = "success",
    *,
    minutes_ago: int = 10,
    jobs: list[FakeJob] | None = None,
    **fields: object,
) -> FakeRun:
    """A completed CI run on main, `minutes_ago` before NOW."""
    return FakeRun(
        id=run_id,
        conclusion=conclusion,
        created_at=NOW - timedelta(minutes=minutes_ago),
        jobs=jobs if jobs is not None else [FakeJob("lint"), FakeJob("tests")],
        **fields,  # type: ignore[arg-type]
    )


def commit(n: int, message: str, *, days_ago: float = 1.0, parents: int = 1) -> FakeCommit:
    """A commit on main, `days_ago` before NOW."""
    return FakeCommit(f"{n:040x}", message, NOW - timedelta(days=days_ago), parents)


def repo(name: str = REPO, runs: list[FakeRun] | None = None, commits: list[FakeCommit] | None = None) -> FakeRepo:
    """A repository with these runs of checks.yml and these commits on main."""
    return FakeRepo(name, runs=runs or [], commits={"main": commits if commits is not None else [commit(1, "init")]})
