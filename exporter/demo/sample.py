"""Sample data for `--demo`: a realistic, deterministic Metta-AI/metta with CI runs (timings, a red
streak, flaky re-runs), commits, pull requests, production deployments with statuses and releases.

Everything hangs off the demo commits on main: runs and deployments point at their shas, merged pull
requests at their numbers and merge times, releases at the commits they tag.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from exporter.demo.model import (
    FakeCommit,
    FakeDeployment,
    FakeDeploymentStatus,
    FakeJob,
    FakePull,
    FakeRelease,
    FakeRepo,
    FakeRun,
    stable_int,
    stable_sha,
)
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
COMMIT_SPACING_MINUTES = 134
RED_RUNS = {6, 7}  # a red streak on main inside the week, fixed by run 5
FLAKY_RUNS = {3, 9}  # attempt 1 failed, attempt 2 passed
AUTHORS = ("alice-ml", "bkim", "cgarcia", "dpatel", "eolsen")
FORK = "ext-contrib/metta"
# Production deploys, by the index of the demo commit they ship (newest first): the deploy of 58
# fails; 29 ships the revert of a change 33 deployed; 93 ships the revert at 98.
PRODUCTION_DEPLOYS = (3, 12, 20, 29, 33, 41, 50, 58, 66, 75, 84, 93, 103, 117, 131, 145)
FAILED_DEPLOYS = {58}
STAGING_DEPLOYS = (1, 8, 16, 24, 45)
# Releases: tag -> (commit index, prerelease)
RELEASES = {
    "v1.8.0": (131, False),
    "v1.8.1": (103, False),
    "v1.9.0-rc.1": (75, True),
    "v1.9.0": (50, False),
    "v1.9.1": (29, False),
}


def _variant(index: int, modulo: int) -> int:
    """A deterministic pseudo-random choice seeded by the position, not by random state."""
    return stable_int("demo", index) % modulo


def _commit_date(now: datetime, index: int) -> datetime:
    return now - timedelta(minutes=30 + index * COMMIT_SPACING_MINUTES)


def _commit_at(now: datetime, moment: datetime) -> int:
    """The index of the newest demo commit no newer than `moment`."""
    minutes = (now - moment).total_seconds() / 60
    return max(0, -int(-(minutes - 30) // COMMIT_SPACING_MINUTES))


def demo_runs(now: datetime) -> list[FakeRun]:
    """~25 checks.yml runs on main (newest succeeded, next cancelled, a red streak, two flaky
    re-runs, realistic durations) plus PR runs."""
    runs: list[FakeRun] = []
    for index in range(25):  # index 0 is the newest
        created = now - timedelta(hours=2 + index * 13)
        conclusion = "success" if _variant(index, 5) and index not in RED_RUNS else "failure"
        jobs = [FakeJob(name) for name in JOBS]
        if conclusion == "failure":
            jobs[1] = FakeJob("unit-tests", "failure")
        if index == 0:
            conclusion, jobs = "success", [FakeJob(name) for name in JOBS]
        if index == 1:
            conclusion = "cancelled"
            jobs = [FakeJob(name, "cancelled") for name in JOBS]
        minutes = 9 + _variant(200 + index, 11) if conclusion == "success" else 4 + _variant(200 + index, 5)
        durations = [timedelta(minutes=minutes)]
        if index in FLAKY_RUNS:  # a quick failure, then a full green re-run a few minutes later
            durations = [timedelta(minutes=5 + _variant(300 + index, 3)), timedelta(minutes=minutes)]
        runs.append(
            FakeRun(
                id=9_000_000_000 + 1000 - index,
                conclusion=conclusion,
                created_at=created,
                run_attempt=2 if index in FLAKY_RUNS else 1,
                jobs=jobs,
                head_sha=stable_sha("commit", _commit_at(now, created)),
                durations=durations,
                rerun_delay=timedelta(minutes=4) if index in FLAKY_RUNS else timedelta(0),
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
                durations=[timedelta(minutes=6 + _variant(500 + index, 8))],
            )
        )
    return runs


def demo_commits(now: datetime) -> list[FakeCommit]:
    """~150 commits on main over 14 days, with hotfixes, reverts and merge commits."""
    commits: list[FakeCommit] = []
    for index in range(150):  # index 0 is the newest
        date = _commit_date(now, index)
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


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def demo_merged_pulls(commits: list[FakeCommit]) -> list[FakePull]:
    """The pull requests behind the demo's merge and squash commits of the last ~9 days."""
    pulls: list[FakePull] = []
    for index, fake in enumerate(commits[:100]):
        merge = re.fullmatch(r"Merge pull request #(\d+) from Metta-AI/(\S+)", fake.message)
        squash = re.fullmatch(r"(.+) \(#(\d+)\)", fake.message)
        if merge:
            number, head_ref, title = int(merge[1]), merge[2], SUBJECTS[_variant(index + 7, len(SUBJECTS))]
        elif squash and index % 6 == 2 and index not in REVERTS:
            number, title = int(squash[2]), squash[1]
            head_ref = f"{AUTHORS[index % len(AUTHORS)]}/{_slug(title)}"
        else:
            continue
        merged = fake.committer_date
        pull = FakePull(
            number=number,
            title=title,
            created_at=merged - timedelta(hours=2 + _variant(400 + index, 120)),
            updated_at=merged + timedelta(minutes=2),
            merged_at=merged,
            merge_commit_sha=fake.sha,
            author=AUTHORS[_variant(450 + index, len(AUTHORS))],
            head_ref=head_ref,
            comments=_variant(460 + index, 9),
        )
        if index == 44:  # a contribution from a fork
            pull.fork, pull.author, pull.head_ref = FORK, "ext-contrib", "patch-2"
        if index == 80:  # a merged contribution whose fork has been deleted since
            pull.fork, pull.fork_deleted, pull.author, pull.head_ref = "gone-user/metta", True, "gone-user", "main"
        pulls.append(pull)
    return pulls


def demo_pulls(now: datetime, commits: list[FakeCommit]) -> list[FakePull]:
    """~40 pull requests against main: merged ones (24, most within the week), open ones (recent,
    stale, a draft, a fork's, a bot's, one against a release branch) and a few closed unmerged."""
    day, hour = timedelta(days=1), timedelta(hours=1)
    open_pulls = [
        FakePull(1401, "Add replay buffer metrics dashboard", now - 30 * hour, now - 2 * hour,
                 author="alice-ml", head_ref="feature/replay-metrics",
                 head_sha=stable_sha("feature/replay-metrics", 0), comments=6),
        FakePull(1402, "Fix env reset race in vectorized envs", now - 40 * hour, now - 9 * hour,
                 author="bkim", head_ref="fix/env-reset", head_sha=stable_sha("fix/env-reset", 1), comments=3),
        FakePull(1403, "Fix typo in README", now - 26 * hour, now - 20 * hour,
                 author="ext-contrib", head_ref="patch-1", fork=FORK, comments=1),
        FakePull(1404, "Backport NaN loss fix to 1.9", now - 50 * hour, now - 47 * hour,
                 author="dpatel", head_ref="backport/nan-loss", base_ref="release/1.9"),
        FakePull(1405, "WIP: multi-node training", now - 3 * day, now - 5 * hour,
                 author="cgarcia", head_ref="cgarcia/multi-node", draft=True, comments=2),
        FakePull(1406, "Document curriculum settings", now - 70 * hour, now - 4 * hour,
                 author="eolsen", head_ref="docs/curriculum", head_sha=stable_sha("docs/curriculum", 2)),
        FakePull(1407, "Bump ruff from 0.5.0 to 0.6.1", now - 20 * hour, now - 20 * hour,
                 author="dependabot[bot]", head_ref="dependabot/pip/ruff-0.6.1", labels=["dependencies"]),
        # stale: no update for more than a week
        FakePull(1302, "Experiment: larger policy network", now - 21 * day, now - 10 * day,
                 author="bkim", head_ref="bkim/larger-policy", comments=4),
        FakePull(1240, "Port sim loop to JAX", now - 30 * day, now - 16 * day,
                 author="cgarcia", head_ref="cgarcia/jax-sim", comments=11),
        FakePull(1188, "Rewrite map generator in Rust", now - 45 * day, now - 20 * day,
                 author="alice-ml", head_ref="alice-ml/rust-mapgen", comments=17),
        FakePull(1150, "Add distributed eval harness", now - 60 * day, now - 8 * day,
                 author="dpatel", head_ref="dpatel/dist-eval", comments=9),
    ]  # fmt: skip
    closed = [
        FakePull(1395, "Bump numpy from 1.26.4 to 2.0.0", now - 6 * day, closed_at=now - 1 * day,
                 author="dependabot[bot]", head_ref="dependabot/pip/numpy-2.0.0", labels=["dependencies"]),
        FakePull(1380, "Try bfloat16 everywhere", now - 5 * day, closed_at=now - 3 * day,
                 author="eolsen", head_ref="eolsen/bf16", comments=5),
        FakePull(1330, "Replace wandb with mlflow", now - 15 * day, closed_at=now - 9 * day,
                 author="alice-ml", head_ref="alice-ml/mlflow", comments=8),
    ]  # fmt: skip
    return [*demo_merged_pulls(commits), *open_pulls, *closed]


def _deploy_statuses(started: datetime, index: int, failed: bool) -> list[FakeDeploymentStatus]:
    done = started + timedelta(minutes=4 + _variant(600 + index, 6))
    return [
        FakeDeploymentStatus("queued", started, "Waiting for a runner"),
        FakeDeploymentStatus("in_progress", started + timedelta(minutes=1), "Rolling out"),
        FakeDeploymentStatus("failure", done, "Health check failed: 5xx above 2%")
        if failed
        else FakeDeploymentStatus("success", done, "Deployed"),
    ]


def _with_inactive(deployments: list[FakeDeployment]) -> None:
    """GitHub marks an environment's previous successful deployment inactive when a newer one succeeds."""
    previous: FakeDeployment | None = None
    for deployment in sorted(deployments, key=lambda d: d.created_at):
        success = next((s for s in deployment.statuses if s.state == "success"), None)
        if success is None:
            continue
        if previous is not None:
            previous.statuses.append(FakeDeploymentStatus("inactive", success.created_at, "Superseded"))
        previous = deployment


def demo_deployments(now: datetime, commits: list[FakeCommit]) -> list[FakeDeployment]:
    """~15 production deployments over 14 days (one failed, one rollback of a reverted change, the
    newest still rolling out) and a few staging ones, each shipping a demo commit on main."""
    production: list[FakeDeployment] = []
    for index in PRODUCTION_DEPLOYS:
        started = commits[index].committer_date + timedelta(minutes=20 + _variant(700 + index, 40))
        production.append(
            FakeDeployment(
                id=stable_int("deployment", index, digits=10),
                sha=commits[index].sha,
                created_at=started,
                statuses=_deploy_statuses(started, index, index in FAILED_DEPLOYS),
                description=f"Deploy {commits[index].sha[:7]} to production",
            )
        )
    rolling = now - timedelta(minutes=8)  # the newest deploy is still rolling out
    production.append(
        FakeDeployment(
            id=stable_int("deployment", 0, digits=10),
            sha=commits[0].sha,
            created_at=rolling,
            statuses=_deploy_statuses(rolling, 0, False)[:2],
            description=f"Deploy {commits[0].sha[:7]} to production",
        )
    )
    staging = [
        FakeDeployment(
            id=stable_int("deployment", "staging", index, digits=10),
            sha=commits[index].sha,
            created_at=commits[index].committer_date + timedelta(minutes=10),
            environment="staging",
            statuses=_deploy_statuses(commits[index].committer_date + timedelta(minutes=10), index, False),
            description=f"Deploy {commits[index].sha[:7]} to staging",
        )
        for index in STAGING_DEPLOYS
    ]
    _with_inactive(production)
    _with_inactive(staging)
    return production + staging


def demo_deploy_runs(deployments: list[FakeDeployment]) -> list[FakeRun]:
    """The deploy.yml runs that made the production deployments (another source of deploys)."""
    runs = []
    for number, deployment in enumerate(sorted(deployments, key=lambda d: d.created_at)):
        if deployment.environment != "production":
            continue
        # The outcome, not the `inactive` a newer success appends after it.
        final = next((s for s in reversed(deployment.statuses) if s.state != "inactive"), None)
        ended = final is not None and final.state in ("success", "failure")
        last = max(s.created_at for s in deployment.statuses if s.state != "inactive")
        conclusion = ("success" if deployment_succeeded(deployment) else "failure") if ended else None
        deploy_job = FakeJob("deploy", conclusion) if ended else FakeJob("deploy", None, "in_progress")
        runs.append(
            FakeRun(
                id=9_100_000_000 + number,
                conclusion=conclusion,
                status="completed" if ended else "in_progress",
                created_at=deployment.created_at - timedelta(minutes=2),
                jobs=[FakeJob("build-image"), deploy_job],
                workflow_file="deploy.yml",
                head_sha=deployment.sha,
                durations=[last - deployment.created_at + timedelta(minutes=3)],
            )
        )
    return runs


def deployment_succeeded(deployment: FakeDeployment) -> bool:
    return any(s.state == "success" for s in deployment.statuses)


def demo_releases(now: datetime, commits: list[FakeCommit]) -> list[FakeRelease]:
    """A few releases tagging demo commits (GitHub dates `created_at` from the tagged commit), one
    prerelease and one draft (visible to pushers only, no tag yet)."""
    releases = [
        FakeRelease(
            tag,
            created_at=commits[index].committer_date,
            published_at=commits[index].committer_date + timedelta(hours=1, minutes=_variant(800 + index, 50)),
            sha=commits[index].sha,
            name=tag,
            prerelease=prerelease,
            body=f"Release {tag}",
            author=AUTHORS[index % len(AUTHORS)],
        )
        for tag, (index, prerelease) in RELEASES.items()
    ]
    draft = FakeRelease("v1.10.0", created_at=now - timedelta(hours=3), name="v1.10.0", draft=True)
    return [*releases, draft]


def demo_repo(now: datetime) -> FakeRepo:
    commits = demo_commits(now)
    deployments = demo_deployments(now, commits)
    return FakeRepo(
        REPO,
        workflows=["checks.yml", "deploy.yml"],
        runs=demo_runs(now) + demo_deploy_runs(deployments),
        commits={"main": commits},
        pulls=demo_pulls(now, commits),
        deployments=deployments,
        releases=demo_releases(now, commits),
    )


def demo_github(now: datetime) -> FakeGitHub:
    """A FakeGitHub (not started) serving the demo repository as it looks at `now`."""
    return FakeGitHub(repos=[demo_repo(now)])
