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
    """A completed workflow run, with the jobs of its latest attempt."""

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
        ...
