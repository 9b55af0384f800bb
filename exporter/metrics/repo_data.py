"""Plain data read from GitHub once per refresh: what metric functions compute from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from exporter.settings import Settings


@dataclass(frozen=True)
class Job:
    """One job of a workflow run attempt."""

    name: str
    status: str
    conclusion: str | None


@dataclass(frozen=True)
class WorkflowRun:
    """A completed workflow run, with the jobs of its latest attempt (read only when EXPORTER_CI_REQUIRED_JOBS
    names some and the run succeeded: otherwise the run's conclusion decides, and `jobs` is empty)."""

    id: int
    conclusion: str | None
    run_attempt: int
    created_at: datetime
    html_url: str
    jobs: tuple[Job, ...]


@dataclass(frozen=True)
class Commit:
    """A commit reachable from the branch."""

    sha: str
    message: str
    committed_at: datetime
    parent_count: int


# --- deployments (the DORA keys, exporter/metrics/dora.py) ---------------------------------------
# A deployment's outcome: "success" and "failure" are final; "pending" has not finished (queued, in
# progress); "other" is final without an outcome (a cancelled or skipped deploy run, a deployment
# marked inactive before it succeeded).
DeploymentState = Literal["success", "failure", "pending", "other"]


@dataclass(frozen=True)
class Deployment:
    """One deployment from the repository's configured source (EXPORTER_DEPLOY_SOURCE).

    `sha` names what it shipped: a commit SHA, or for a release its tag (which `compare` resolves).
    `finished_at` is when it reached its final state (None while pending). `in_window`: created in the
    lookback window (the others are the older ones read to find the previous successful deployment).
    """

    sha: str
    created_at: datetime
    state: DeploymentState
    finished_at: datetime | None = None
    in_window: bool = True


# --- CI flow and pull-request flow (issue 10) ---


@dataclass(frozen=True)
class CiRun:
    """A completed run of the CI workflow on the branch itself (a counted event), as its latest attempt shows it."""

    id: int
    conclusion: str
    run_attempt: int
    created_at: datetime
    started_at: datetime  # `run_started_at`: when the latest attempt started
    updated_at: datetime  # when the latest attempt last changed: its end, for a completed run


@dataclass(frozen=True)
class CiRunWindow:
    """The counted completed CI runs created in [start, end), newest first; `complete` is False when
    paging stopped at its bound before reaching `start` (the counts are then lower bounds)."""

    start: datetime
    end: datetime
    runs: tuple[CiRun, ...]
    complete: bool = True


@dataclass(frozen=True)
class RunAttempt:
    """An earlier attempt of a run (a finished attempt never changes)."""

    run_id: int
    number: int
    conclusion: str | None


@dataclass(frozen=True)
class PullRequest:
    """A pull request against the branch (from this repository or a fork)."""

    number: int
    created_at: datetime
    updated_at: datetime
    merged_at: datetime | None
    draft: bool


@dataclass(frozen=True)
class OpenPullRequests:
    """The open pull requests against the branch, as of `as_of`."""

    as_of: datetime
    pulls: tuple[PullRequest, ...]


@dataclass(frozen=True)
class MergedPullRequests:
    """The pull requests against the branch merged in [start, end)."""

    start: datetime
    end: datetime
    pulls: tuple[PullRequest, ...]


class RepoData(Protocol):
    """One repository's GitHub data for one refresh; each part is fetched at most once."""

    @property
    def repo(self) -> str: ...

    @property
    def settings(self) -> Settings: ...

    def latest_ci_run(self) -> WorkflowRun | None:
        """Newest completed CI run of the branch itself (event push, schedule or workflow_dispatch) that was
        not cancelled, skipped or stale, among the branch's newest 100 completed runs; None: no data."""
        ...

    def recent_commits(self) -> Sequence[Commit]:
        """Commits on the branch with a committer date inside the lookback window."""
        ...

    def deployments(self) -> Sequence[Deployment]:
        """Deployments from the configured source, newest first (by `created_at`): those created in the
        lookback window, then the newest successful one before it (when there is one within a bound).
        Empty: the source has no deployment at all (no such environment, workflow run or release): no data."""
        ...

    def shipped_commits(self, deployment: Deployment, previous: Deployment) -> Sequence[Commit]:
        """The commits `deployment` shipped: reachable from its SHA and not from `previous`'s, newest first
        (at most the newest 250); empty when it shipped nothing new (a redeploy or a rollback)."""

    # --- CI flow and pull-request flow (issue 10) ---

    def ci_runs(self) -> CiRunWindow:
        """Completed runs of the CI workflow on the branch itself (push, schedule, workflow_dispatch),
        created inside the lookback window, newest first."""
        ...

    def ci_rerun_attempts(self) -> Sequence[RunAttempt]:
        """Earlier attempts of the window's runs that succeeded on a later attempt: for each, read
        newest first, up to and including the first that failed."""
        ...

    def open_pull_requests(self) -> OpenPullRequests:
        """Open pull requests against the branch, drafts and forks' included."""
        ...

    def merged_pull_requests(self) -> MergedPullRequests:
        """Pull requests against the branch merged inside the lookback window."""
        ...
