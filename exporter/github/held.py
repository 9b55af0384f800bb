"""What the exporter holds of each repository between refreshes, and how held data is re-windowed.

A refresh that does not ask GitHub about a kind of data (`exporter/changes.py` decides) computes from
what was read before, moved to the refresh's time: the window's start moves on, so a commit or a run
leaves it, a red streak grows and an open pull request ages, without a request. Only the parsed data the
metrics read is held (a few hundred bytes a commit or run), never GitHub's JSON.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from exporter.changes import CLOCK_SKEW_SECONDS, KINDS, HeldState, Kind
from exporter.metrics.repo_data import (
    CiRun,
    CiRunWindow,
    Commit,
    Deployment,
    MergedPullRequests,
    OpenPullRequests,
    PullRequest,
)

# The held datasets, by the kind of change that makes them stale.
DATASETS: dict[str, Kind] = {
    "ci": "ci",
    "commits": "commits",
    "open_pulls": "pulls",
    "merged_pulls": "pulls",
    "deployments": "deployments",
}


@dataclass(frozen=True)
class RunRef:
    """The newest counted run of the CI workflow on the branch: what `latest_ci_run` needs of it."""

    id: int
    conclusion: str | None
    run_attempt: int
    created_at: datetime
    html_url: str
    jobs_url: str


@dataclass(frozen=True)
class CiRead:
    """The branch's completed CI runs as read: the newest counted run, and every counted run read (newest
    first; the window is applied when used). `etag` makes the next read conditional."""

    etag: str | None
    newest: RunRef | None
    runs: tuple[CiRun, ...]
    complete: bool
    newest_scheduled_at: datetime | None  # the newest `schedule` run's creation among those read (any conclusion)

    def window(self, start: datetime, end: datetime) -> CiRunWindow:
        return CiRunWindow(start, end, tuple(run for run in self.runs if start <= run.created_at < end), self.complete)


@dataclass(frozen=True)
class Schedule:
    """The crons of the CI workflow file's `on.schedule` as read at `read_at` (exporter/schedules.py); `crons`
    None: the file could not be read as a workflow (a warning said why), so the runs read decide."""

    crons: tuple[str, ...] | None
    read_at: float


@dataclass
class HeldRepo:
    """One repository's held data (used by one session at a time; the store's lock guards the mapping)."""

    read_at: dict[str, float] = field(default_factory=dict)  # wall time each dataset was last confirmed current
    pushed_at: float | None = None  # the newest push an account listing showed (None: no listing covers it)
    vouched_at: float | None = None  # when an account listing last showed no push newer than `pushed_at`
    ci: CiRead | None = None
    commits: tuple[Commit, ...] | None = None  # read since the start of the window's first day
    open_pulls: tuple[PullRequest, ...] | None = None
    merged_pulls: tuple[PullRequest, ...] | None = None  # merged in the window as read
    deployments: tuple[Deployment, ...] | None = None
    schedule: Schedule | None = None  # read only past the repository count where every CI is probed

    def state(self) -> HeldState:
        """The scheduler's view: each kind confirmed as of its least recently confirmed dataset."""
        read_at: dict[Kind, float] = {}
        for dataset, kind in DATASETS.items():
            if dataset in self.read_at:
                read_at[kind] = min(read_at.get(kind, self.read_at[dataset]), self.read_at[dataset])
        commits = read_at.get("commits")
        quiet = commits is not None and self.pushed_at is not None and self.pushed_at < commits - CLOCK_SKEW_SECONDS
        if quiet and commits is not None and self.vouched_at is not None:  # no push since: current as of the listing
            read_at["commits"] = max(commits, self.vouched_at)
        newest = self.ci.newest if self.ci is not None else None
        scheduled = self.ci.newest_scheduled_at if self.ci is not None else None
        return HeldState(
            read_at=read_at,
            pushed_at=self.pushed_at,
            ci_red=newest is not None and newest.conclusion != "success",
            ci_scheduled=scheduled is not None,
            ci_newest_at=newest.created_at.timestamp() if newest is not None else None,
            ci_crons=self.schedule.crons if self.schedule is not None else None,
            ci_newest_scheduled_at=scheduled.timestamp() if scheduled is not None else None,
            schedule_read_at=self.schedule.read_at if self.schedule is not None else None,
        )

    def confirm(self, dataset: str, at: float) -> None:
        """`dataset` is current as of `at` (read, or a conditional request answered 304)."""
        self.read_at[dataset] = at


class HeldStore:
    """Every watched repository's `HeldRepo`, by name in any case."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._repos: dict[str, HeldRepo] = {}

    def get(self, repo: str) -> HeldRepo:
        with self._lock:
            return self._repos.setdefault(repo.casefold(), HeldRepo())

    def note_pushed(self, repo: str, pushed_at: float) -> None:
        """Record an account listing's `pushed_at` for `repo` (kept: the newest)."""
        with self._lock:
            held = self._repos.setdefault(repo.casefold(), HeldRepo())
            held.pushed_at = max(pushed_at, held.pushed_at or pushed_at)

    def vouch(self, repos: Iterable[str], at: float) -> None:
        """An account listing at `at` showed every push to `repos` up to then (their `pushed_at` is current)."""
        with self._lock:
            for repo in repos:
                held = self._repos.get(repo.casefold())
                if held is not None and held.pushed_at is not None:
                    held.vouched_at = at

    def keep_only(self, repos: Iterable[str]) -> None:
        """Forget the repositories no longer watched, so that what is held stays bounded by what is watched."""
        wanted = {repo.casefold() for repo in repos}
        with self._lock:
            for name in [name for name in self._repos if name not in wanted]:
                del self._repos[name]

    def ages(self, repos: Iterable[str], now: float) -> dict[Kind, float]:
        """The oldest confirmation of each kind among `repos`, as an age in seconds (kinds never read: absent)."""
        oldest: dict[Kind, float] = {}
        with self._lock:
            held = [self._repos.get(repo.casefold()) for repo in repos]
        for repo in held:
            if repo is None:
                continue
            for kind, read_at in repo.state().read_at.items():
                oldest[kind] = min(oldest.get(kind, read_at), read_at)
        return {kind: max(0.0, now - oldest[kind]) for kind in KINDS if kind in oldest}


# --- held data at a later time ------------------------------------------------------------------


def commits_since(commits: tuple[Commit, ...], since: datetime) -> list[Commit]:
    return [commit for commit in commits if commit.committed_at >= since]


def open_pulls_at(pulls: tuple[PullRequest, ...], now: datetime) -> OpenPullRequests:
    return OpenPullRequests(now, pulls)


def merged_pulls_at(pulls: tuple[PullRequest, ...], now: datetime, days: int) -> MergedPullRequests:
    start = now - timedelta(days=days)
    kept = tuple(pull for pull in pulls if pull.merged_at is not None and start <= pull.merged_at < now)
    return MergedPullRequests(start, now, kept)


def deployments_since(deployments: tuple[Deployment, ...], since: datetime) -> tuple[Deployment, ...]:
    """The held deployments (newest first) with the window moved to `since`: those in it, then older
    ones down to the newest successful one before it, as the reader keeps them."""
    kept: list[Deployment] = []
    for deployment in deployments:
        in_window = deployment.created_at >= since
        kept.append(dataclasses.replace(deployment, in_window=in_window))
        if not in_window and deployment.state == "success":
            break
    return tuple(kept)
