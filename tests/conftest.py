"""Shared fixtures: a fake GitHub on loopback and exporters wired against it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from moto.server import ThreadedMotoServer

from exporter.cli import Exporter, build
from exporter.demo import FakeCommit, FakeGitHub, FakeJob, FakeRepo, FakeRun
from exporter.metrics.registry import default_registry
from exporter.settings import Settings

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
REPO = "octo/app"
# The CI flow and pull-request flow metrics (issue 10); tests/metrics/test_ci_flow.py and test_prs.py turn
# them on (and only them) with FLOW_ON.
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


@pytest.fixture
def moto_server() -> Iterator[str]:
    """moto's Secrets Manager on loopback, reset, stopped after the test; yields its endpoint URL."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        httpx.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()  # moto keeps state per process
        yield endpoint
    finally:
        server.stop()


@pytest.fixture
def secrets(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """`moto_server`, reached through the standard AWS_* variables of this process; yields its URL."""
    for key, value in {
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(key, value)
    return moto_server


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    """An empty fake GitHub, stopped after the test."""
    github = FakeGitHub()
    github.start()
    try:
        yield github
    finally:
        github.stop()


# The metrics the exporter shipped before issue 10. The tests written for them count their requests
# and series exactly; metrics added since (each with data of its own) are off in those tests, which then
# also show that a refresh with the new metrics switched off costs what it cost before. A test of a new
# metric turns it on by setting EXPORTER_METRICS_DISABLED itself (empty: every metric on).
ORIGINAL_METRICS = ("ci.tests_passing_on_main", "commits.hotfix", "commits.reverts")


def later_metrics() -> str:
    """EXPORTER_METRICS_DISABLED for every shipped metric added after ORIGINAL_METRICS."""
    return ",".join(spec.key for spec in default_registry() if spec.key not in ORIGINAL_METRICS)


def only_on(*keys: str) -> dict[str, str]:
    """Settings that switch on the original metrics and `keys`, and every later metric but those off."""
    off = (spec.key for spec in default_registry() if spec.key not in ORIGINAL_METRICS + keys)
    return {"EXPORTER_METRICS_DISABLED": ",".join(off)}


FLOW_ON = only_on(*FLOW_METRICS)  # the CI and pull-request flow metrics (tests/metrics/test_ci_flow.py, test_prs.py)
DORA_ON = only_on(*(spec.key for spec in default_registry() if spec.key.startswith("dora.")))


def settings_for(fake: FakeGitHub, **env: str) -> Settings:
    """Settings pointing at the fake, with REPO watched unless EXPORTER_REPOS says otherwise, only
    ORIGINAL_METRICS on unless EXPORTER_METRICS_DISABLED says otherwise, and every kind of data asked
    for every refresh unless EXPORTER_SLOW_DATA_SECONDS says otherwise (tests/test_changes.py tests the sweep)."""
    values = {"EXPORTER_GITHUB_API_URL": fake.url, "GITHUB_TOKEN": "test-token", "EXPORTER_REPOS": REPO}
    values["EXPORTER_METRICS_DISABLED"] = later_metrics()
    values["EXPORTER_SLOW_DATA_SECONDS"] = "0"
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
