"""Shared parts: the result table, fake repositories and exporters wired against a fake GitHub."""

from __future__ import annotations

import contextlib
import statistics
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from exporter.demo import FakeCommit, FakeGitHub, FakeJob, FakeRepo, FakeRun
from exporter.demo.model import stable_sha
from exporter.github import transport
from exporter.github.credentials import TokenProvider
from exporter.github.etag_cache import ConditionalRequests
from exporter.github.source import GitHubSource
from exporter.metrics.registry import default_registry
from exporter.refresh import Refresher, RefreshResult
from exporter.settings import Settings

TOKEN = "bench-token"  # a made-up token the fake accepts; never a real one
COMMITS_PER_PAGE = 100  # the exporter's per_page


@dataclass
class Row:
    """One figure: ours beside a baseline (None when there is none)."""

    goal: str
    figure: str
    ours: float | str
    baseline: float | str | None = None
    baseline_name: str = ""
    unit: str = ""
    note: str = ""

    @property
    def ratio(self) -> str:
        if isinstance(self.ours, int | float) and isinstance(self.baseline, int | float) and self.baseline:
            return f"{self.ours / self.baseline:.2f}x"
        return ""


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)

    def add(self, *args: object, **kwargs: object) -> None:
        self.rows.append(Row(*args, **kwargs))  # type: ignore[arg-type]

    def table(self) -> str:
        header = ("goal", "figure", "ours", "baseline", "ratio", "note")
        lines = [header]
        for row in self.rows:
            base = "" if row.baseline is None else f"{fmt(row.baseline)}{row.unit} ({row.baseline_name})"
            lines.append((row.goal, row.figure, f"{fmt(row.ours)}{row.unit}", base, row.ratio, row.note))
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        out = []
        for index, line in enumerate(lines):
            out.append("| " + " | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) + " |")
            if index == 0:
                out.append("|" + "|".join("-" * (width + 2) for width in widths) + "|")
        return "\n".join(out)


def fmt(value: float | str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"


def percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def make_repo(name: str, now: datetime, commits: int, runs: int = 20) -> FakeRepo:
    """A repository with `commits` commits inside a 6-day window and `runs` completed CI runs on main."""
    step = timedelta(days=6) / max(commits, 1)
    special = {commits // 3: "hotfix: restore login", commits // 2: 'Revert "Change 7"'}
    made = [
        FakeCommit(stable_sha(name, index), special.get(index, f"Change {index}"), now - step * (index + 1))
        for index in range(commits)
    ]
    made_runs = [
        FakeRun(id=1_000_000 + index, conclusion="success", created_at=now - timedelta(hours=index + 1))
        for index in range(runs)
    ]
    return FakeRepo(name, runs=made_runs, commits={"main": made})


def add_commit(repo: FakeRepo, now: datetime, message: str = "A new change") -> None:
    """Push one commit to main."""
    repo.commits["main"].append(FakeCommit(stable_sha(repo.full_name, "new", now), message, now))


def add_run(repo: FakeRepo, now: datetime) -> None:
    """Finish one more CI run on main."""
    repo.runs.append(
        FakeRun(id=2_000_000 + len(repo.runs), conclusion="failure", created_at=now, jobs=[FakeJob("lint", "failure")])
    )


def repo_names(count: int) -> list[str]:
    return [f"bench-org/repo-{index:04d}" for index in range(count)]


def settings_for(fake: FakeGitHub | str, repos: Sequence[str], **env: str) -> Settings:
    values = {
        "EXPORTER_GITHUB_API_URL": fake if isinstance(fake, str) else fake.url,
        "GITHUB_TOKEN": TOKEN,
        "EXPORTER_REPOS": ",".join(repos),
        "EXPORTER_GITHUB_RETRIES": "0",
    }
    values.update(env)
    return Settings.from_env(values)


@dataclass
class Wired:
    """A refresher over the fake and the conditional-request cache under it."""

    settings: Settings
    refresher: Refresher
    cache: ConditionalRequests | None


def wire(fake: FakeGitHub | str, repos: Sequence[str], hooks: transport.HttpHooks | None = None, **env: str) -> Wired:
    settings = settings_for(fake, repos, **env)
    source = GitHubSource(settings, TokenProvider(settings), hooks=hooks)
    return Wired(settings, Refresher(settings, default_registry().configured(settings), source), source.cache)


@dataclass(frozen=True)
class Cost:
    requests: int
    points: int
    not_modified: int
    seconds: float
    result: RefreshResult


def measure(fake: FakeGitHub, wired: Wired) -> Cost:
    """One refresh: the requests GitHub saw, the points it charged and the wall time."""
    fake.clear_requests()
    points = fake.points_used
    result = wired.refresher()
    failed = result.failed
    if failed:
        raise RuntimeError(f"bench refresh failed: {failed[0].repo} {failed[0].key} {failed[0].error}")
    return Cost(len(fake.requests), fake.points_used - points, fake.count(status=304), result.seconds, result)


@contextlib.contextmanager
def running(fake: FakeGitHub) -> Iterator[FakeGitHub]:
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


def now() -> datetime:
    return datetime.now(UTC)
