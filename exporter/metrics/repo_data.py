"""Plain data read from GitHub once per refresh: what metric functions compute from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

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
