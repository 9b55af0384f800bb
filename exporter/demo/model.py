"""The fake GitHub's data: repositories, workflow runs, jobs and commits as plain mutable dataclasses.

Tests mutate these between refreshes; the server reads them on every request (under its lock).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


def stable_int(*parts: object, digits: int = 9) -> int:
    """A deterministic positive id derived from content (never from random state)."""
    digest = hashlib.sha256("/".join(str(p) for p in parts).encode()).hexdigest()
    smallest: int = 10 ** (digits - 1)
    return int(digest[:15], 16) % (9 * smallest) + smallest


def stable_sha(*parts: object) -> str:
    """A deterministic 40-hex git-like sha derived from content."""
    return hashlib.sha1("/".join(str(p) for p in parts).encode(), usedforsecurity=False).hexdigest()


@dataclass
class FakeJob:
    """One job of a workflow run attempt (`GET .../actions/runs/{id}/jobs`)."""

    name: str
    conclusion: str | None = "success"
    status: str = "completed"


def _default_jobs() -> list[FakeJob]:
    return [FakeJob("lint"), FakeJob("tests")]


@dataclass
class FakeRun:
    """One workflow run; `jobs` are the jobs of its latest attempt (`run_attempt`).

    `head_repository` is the fork (`owner/name`) a pull request's head lives in; None: the repository
    itself. A fork's branch may well be named `main`: its runs then carry `head_branch="main"`.
    """

    id: int
    conclusion: str | None
    status: str = "completed"
    head_branch: str = "main"
    event: str = "push"
    run_attempt: int = 1
    created_at: datetime = field(default_factory=lambda: datetime(2024, 1, 1, tzinfo=UTC))
    jobs: list[FakeJob] = field(default_factory=_default_jobs)
    workflow_file: str = "checks.yml"
    head_sha: str | None = None
    head_repository: str | None = None

    @property
    def sha(self) -> str:
        return self.head_sha or stable_sha("run", self.id)

    @property
    def updated_at(self) -> datetime:
        return self.created_at + timedelta(minutes=7 * self.run_attempt)


@dataclass
class FakeCommit:
    """One commit as listed by `GET /repos/{o}/{r}/commits`; `parents` is a count (2 = merge)."""

    sha: str
    message: str
    committer_date: datetime
    parents: int = 1


def _default_commits() -> dict[str, list[FakeCommit]]:
    return {"main": [FakeCommit(stable_sha("initial"), "Initial commit", datetime(2024, 1, 1, tzinfo=UTC))]}


@dataclass
class FakeRepo:
    """A repository with its workflows (by file name), runs and commits per branch (any order)."""

    full_name: str
    default_branch: str = "main"
    workflows: list[str] = field(default_factory=lambda: ["checks.yml"])
    runs: list[FakeRun] = field(default_factory=list)
    commits: dict[str, list[FakeCommit]] = field(default_factory=_default_commits)

    @property
    def id(self) -> int:
        return stable_int("repo", self.full_name.lower())

    @property
    def owner(self) -> str:
        return self.full_name.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.full_name.split("/", 1)[1]

    def workflow_id(self, workflow_file: str) -> int:
        return stable_int("workflow", self.full_name.lower(), workflow_file, digits=8)

    def find_workflow(self, file_or_id: str) -> str | None:
        """The workflow file named by file name or numeric id, or None when unknown."""
        for workflow_file in self.workflows:
            if file_or_id in (workflow_file, str(self.workflow_id(workflow_file))):
                return workflow_file
        return None

    def find_run(self, run_id: int) -> FakeRun | None:
        return next((run for run in self.runs if run.id == run_id), None)

    @property
    def is_empty(self) -> bool:
        return not any(self.commits.values())
