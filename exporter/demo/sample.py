"""Sample data for `--demo`: a realistic, deterministic Metta-AI/metta with CI runs and commits."""

from __future__ import annotations

from datetime import datetime, timedelta

from exporter.demo.model import FakeCommit, FakeJob, FakeRepo, FakeRun, stable_int, stable_sha
from exporter.demo.server import FakeGitHub

REPO = "Metta-AI/metta"
JOBS = ("lint", "unit-tests", "integration-tests", "typecheck", "build-docs")
SUBJECTS = (
    "Add replay buffer metrics",
    "Refactor trainer config loading",
    "Bump torch to 2.4",
    "Fix flaky env reset test",
    "Speed up map generation",
    "Document curriculum settings",
    "Tidy up logging in sim loop",
    "Cache policy checkpoints",
    "Support multi-agent eval",
    "Remove dead wandb code",
)
HOTFIXES = {17: "hotfix: restore missing checkpoint upload", 64: "Hotfix for NaN loss in PPO update"}
REVERTS = {29: 'Revert "Speed up map generation (#1203)" (#1215)', 98: 'Revert "Bump torch to 2.4"'}


def _variant(index: int, modulo: int) -> int:
    """A deterministic pseudo-random choice seeded by the position, not by random state."""
    return stable_int("demo", index) % modulo


def demo_runs(now: datetime) -> list[FakeRun]:
    """~25 checks.yml runs on main (newest succeeded, next cancelled, one re-run) plus PR runs."""
    runs: list[FakeRun] = []
    for index in range(25):  # index 0 is the newest
        created = now - timedelta(hours=2 + index * 13)
        conclusion = "success" if _variant(index, 5) else "failure"
        jobs = [FakeJob(name) for name in JOBS]
        if conclusion == "failure":
            jobs[1] = FakeJob("unit-tests", "failure")
        if index == 0:
            conclusion, jobs = "success", [FakeJob(name) for name in JOBS]
        if index == 1:
            conclusion = "cancelled"
            jobs = [FakeJob(name, "cancelled") for name in JOBS]
        runs.append(
            FakeRun(
                id=9_000_000_000 + 1000 - index,
                conclusion=conclusion,
                created_at=created,
                run_attempt=2 if index == 3 else 1,
                jobs=jobs,
                head_sha=stable_sha("main", index),
            )
        )
    for index in range(8):
        branch = ("feature/replay-metrics", "fix/env-reset", "docs/curriculum")[index % 3]
        runs.append(
            FakeRun(
                id=9_000_000_000 + 500 - index,
                conclusion=("success", "failure")[_variant(100 + index, 2)],
                head_branch=branch,
                event="pull_request",
                created_at=now - timedelta(hours=5 + index * 30),
                jobs=[FakeJob(name) for name in JOBS[:3]],
                head_sha=stable_sha(branch, index),
            )
        )
    return runs


def demo_commits(now: datetime) -> list[FakeCommit]:
    """~150 commits on main over 14 days, with hotfixes, reverts and merge commits."""
    commits: list[FakeCommit] = []
    for index in range(150):  # index 0 is the newest
        date = now - timedelta(minutes=30 + index * 134)
        message = SUBJECTS[_variant(index, len(SUBJECTS))] + f" (#{1400 - index})"
        parents = 1
        if index in HOTFIXES:
            message = HOTFIXES[index]
        elif index in REVERTS:
            message = REVERTS[index]
        elif index % 11 == 5:
            branch = "hotfix-login" if index == 16 else f"feature-{index}"
            message, parents = f"Merge pull request #{1400 - index} from Metta-AI/{branch}", 2
        commits.append(FakeCommit(stable_sha("commit", index), message, date, parents))
    return commits


def demo_repo(now: datetime) -> FakeRepo:
    return FakeRepo(REPO, runs=demo_runs(now), commits={"main": demo_commits(now)})


def demo_github(now: datetime) -> FakeGitHub:
    """A FakeGitHub (not started) serving the demo repository as it looks at `now`."""
    return FakeGitHub(repos=[demo_repo(now)])
