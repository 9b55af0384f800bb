"""The fake GitHub's data: repositories, workflow runs (with attempts), jobs, commits, pull requests,
deployments with statuses and releases, as plain mutable dataclasses.

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


ATTEMPT_DURATION = timedelta(minutes=7)


@dataclass(frozen=True)
class FakeAttempt:
    """One attempt of a workflow run as `GET .../runs/{id}/attempts/{n}` shows it (derived, read-only)."""

    number: int
    status: str
    conclusion: str | None
    started_at: datetime
    updated_at: datetime


@dataclass
class FakeRun:
    """One workflow run; `jobs` are the jobs of its latest attempt (`run_attempt`).

    `head_repository` is the fork (`owner/name`) a pull request's head lives in; None: the repository
    itself. A fork's branch may well be named `main`: its runs then carry `head_branch="main"`.

    Attempt 1 starts at `created_at`; each attempt runs `durations[n - 1]` (7 minutes when not given)
    and the next starts `rerun_delay` after it ends. Attempts before the latest concluded
    `earlier_conclusions[n - 1]` ("failure" when not given): a run that concluded "success" on
    attempt 2 after a failed attempt 1 is a flaky run.
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
    durations: list[timedelta] = field(default_factory=list)
    earlier_conclusions: list[str | None] = field(default_factory=list)
    rerun_delay: timedelta = timedelta(0)

    @property
    def sha(self) -> str:
        return self.head_sha or stable_sha("run", self.id)

    @property
    def updated_at(self) -> datetime:
        return self.attempt(self.run_attempt).updated_at

    @property
    def run_started_at(self) -> datetime:
        """When the latest attempt started."""
        return self.attempt(self.run_attempt).started_at

    def duration(self, number: int) -> timedelta:
        """How long attempt `number` ran (or has run so far, for an unfinished one)."""
        return self.durations[number - 1] if number <= len(self.durations) else ATTEMPT_DURATION

    def attempt(self, number: int) -> FakeAttempt:
        """Attempt `number` (1 to `run_attempt`); earlier attempts are completed."""
        if not 1 <= number <= self.run_attempt:
            raise ValueError(f"run {self.id} has no attempt {number} (run_attempt={self.run_attempt})")
        started = self.created_at
        for earlier in range(1, number):
            started += self.duration(earlier) + self.rerun_delay
        updated = started + self.duration(number)
        if number == self.run_attempt:
            return FakeAttempt(number, self.status, self.conclusion, started, updated)
        index = number - 1
        conclusion = self.earlier_conclusions[index] if index < len(self.earlier_conclusions) else "failure"
        return FakeAttempt(number, "completed", conclusion, started, updated)


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
class FakePull:
    """One pull request (`GET /repos/{o}/{r}/pulls`); closed once `closed_at` or `merged_at` is set.

    `fork` names the repository holding the head branch when it is not this one ("owner/name");
    `fork_deleted` makes `head.repo` null, as GitHub sends it once the fork is gone.
    """

    number: int
    title: str
    created_at: datetime
    updated_at: datetime | None = None
    closed_at: datetime | None = None
    merged_at: datetime | None = None
    merge_commit_sha: str | None = None
    draft: bool = False
    author: str = "octocat"
    head_ref: str = "feature"
    head_sha: str | None = None
    base_ref: str = "main"
    fork: str | None = None
    fork_deleted: bool = False
    comments: int = 0
    body: str | None = None
    labels: list[str] = field(default_factory=list)

    @property
    def state(self) -> str:
        return "closed" if self.closed_at or self.merged_at else "open"

    @property
    def closed(self) -> datetime | None:
        """When it was closed (a merge closes it)."""
        return self.closed_at or self.merged_at

    @property
    def last_update(self) -> datetime:
        """`updated_at` as GitHub reports it: the given time, else the latest of creation and closing."""
        return self.updated_at or max(self.created_at, self.closed or self.created_at)

    @property
    def sha(self) -> str:
        return self.head_sha or stable_sha("pull", self.number)

    @property
    def head_owner(self) -> str | None:
        """The owner of the head branch's repository, or None when it is the base repository."""
        return self.fork.split("/", 1)[0] if self.fork else None


@dataclass
class FakeDeploymentStatus:
    """One status of a deployment: error, failure, inactive, pending, success, queued or in_progress."""

    state: str
    created_at: datetime
    description: str = ""


@dataclass
class FakeDeployment:
    """One deployment (`GET /repos/{o}/{r}/deployments`) with its statuses (any order; listed newest first)."""

    id: int
    sha: str
    created_at: datetime
    environment: str = "production"
    ref: str = "main"
    task: str = "deploy"
    statuses: list[FakeDeploymentStatus] = field(default_factory=list)
    creator: str = "github-actions[bot]"
    description: str | None = None
    transient: bool = False

    @property
    def updated_at(self) -> datetime:
        """GitHub moves `updated_at` with each new status."""
        return max([self.created_at, *(status.created_at for status in self.statuses)])


@dataclass
class FakeRelease:
    """One release (`GET /repos/{o}/{r}/releases`); a draft has no `published_at` (only pushers see it).

    `sha` is the commit its tag points at: the compare endpoint resolves the tag name through it.
    """

    tag_name: str
    created_at: datetime
    published_at: datetime | None = None
    sha: str | None = None
    target_commitish: str = "main"
    name: str | None = None
    draft: bool = False
    prerelease: bool = False
    author: str = "octocat"
    body: str | None = None

    @property
    def id(self) -> int:
        return stable_int("release", self.tag_name)

    @property
    def published(self) -> datetime | None:
        """None for a draft; otherwise `published_at`, or `created_at` when not given."""
        return None if self.draft else (self.published_at or self.created_at)


REPO_CREATED = datetime(2020, 1, 1, tzinfo=UTC)


DEFAULT_WORKFLOW_TEXT = "name: Checks\non: [push, pull_request]\njobs:\n  tests:\n    runs-on: ubuntu-latest\n"


@dataclass
class FakeRepo:
    """A repository with its workflows (by file name), runs and commits per branch (any order),
    pull requests, deployments and releases (any order: the server sorts as GitHub does).

    As an organisation's (or, with `owner_type="User"`, a user's) repository listing shows it: `archived`,
    `fork`, `topics`, `visibility`, `created_at`; `size` (KiB) is 0 when it has no commit, else the
    given size or one derived from its commits; `pushed_at` is its newest commit's time.
    """

    full_name: str
    default_branch: str = "main"
    workflows: list[str] = field(default_factory=lambda: ["checks.yml"])
    # Workflow files' text (YAML) by file name, served by the contents API; a workflow without one has
    # `on: [push, pull_request]`.
    workflow_texts: dict[str, str] = field(default_factory=dict)
    runs: list[FakeRun] = field(default_factory=list)
    commits: dict[str, list[FakeCommit]] = field(default_factory=_default_commits)
    pulls: list[FakePull] = field(default_factory=list)
    deployments: list[FakeDeployment] = field(default_factory=list)
    releases: list[FakeRelease] = field(default_factory=list)
    archived: bool = False
    fork: bool = False
    topics: list[str] = field(default_factory=list)
    owner_type: str = "Organization"
    visibility: str = "public"
    created_at: datetime = REPO_CREATED
    size_kib: int | None = None

    @property
    def size(self) -> int:
        """GitHub's `size` in KiB: 0 for an empty repository."""
        if self.is_empty:
            return 0
        return self.size_kib if self.size_kib is not None else 8 + sum(len(line) for line in self.commits.values())

    @property
    def pushed_at(self) -> datetime:
        """The newest commit's time (the creation time of an empty repository)."""
        times = [commit.committer_date for line in self.commits.values() for commit in line]
        return max([self.created_at, *times])

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

    def workflow_text(self, workflow_file: str) -> str:
        """The workflow file's YAML as the default branch holds it."""
        return self.workflow_texts.get(workflow_file, DEFAULT_WORKFLOW_TEXT)

    def find_run(self, run_id: int) -> FakeRun | None:
        return next((run for run in self.runs if run.id == run_id), None)

    def find_deployment(self, deployment_id: int) -> FakeDeployment | None:
        return next((d for d in self.deployments if d.id == deployment_id), None)

    @property
    def is_empty(self) -> bool:
        return not any(self.commits.values())
