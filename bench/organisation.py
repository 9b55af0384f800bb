"""A fake organisation for `bench.org_scale`: N small repositories, the changes of each interval, and the truth.

Each repository (three weeks of history, made in one pass from a seeded generator): a few commits a
week on `main` (some hotfixes, reverts and merges), a CI run of `checks.yml` for each recent push, a
few open pull requests (some from forks, with their `pull_request` runs) and merged ones, and for most
repositories a few production deployments. Its `checks.yml` (served by the contents API) runs on
`push` and `pull_request`, and for about half the repositories on a daily cron as well (`M H * * *`),
for about 5 % on a six-hourly one (`M */6 * * *`), at a random minute and hour (UTC). A repository
with a cron has a `schedule` run for each fire of it in the last week, on the head of `main` then,
created 0-10 minutes after the fire time as GitHub's are; one without a cron has none.

A change is one of `KINDS`, at a whole second: a push to main (a commit, some merging a pull request,
some a hotfix or a revert, and its CI run), a scheduled run on the old head (no push), a re-run of the
newest run flipping its conclusion (no push), a pull request from a fork with its `pull_request` run
(no push), a redeploy of an older commit (no push). Scheduled runs come only from the crons: every
fire makes one, created 0-10 minutes late, mostly concluding as the branch's newest run did (a change,
but seldom a visible one). The other kinds are drawn to make up 1 in 10 repositories changing an
interval. Only a push adds a commit, so the listing's `pushed_at` (the newest commit's time) follows
pushes only, as GitHub's does.

The truth is computed from the model by the rules the README states (newest counted run of the branch,
non-merge commits in the window mentioning the word, open pull requests against the branch,
successful deployments created in the window), independently of the exporter's code.
"""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from croniter import croniter

from exporter.demo.model import (
    REPO_CREATED,
    FakeCommit,
    FakeDeployment,
    FakeDeploymentStatus,
    FakeJob,
    FakePull,
    FakeRepo,
    FakeRun,
    stable_sha,
)

ORG = "bench-org"
BRANCH = "main"
WORKFLOW = "checks.yml"
ENVIRONMENT = "production"
LOOKBACK = timedelta(days=7)  # EXPORTER_LOOKBACK_DAYS's default, which the bench keeps
HISTORY_WEEKS = 3
CHANGING_SHARE = 0.1  # 1 in 10 repositories changes in an interval
KINDS = ("push", "schedule", "rerun", "fork_pr", "redeploy")
# Scheduled runs happen at their crons' fire times; the other kinds are drawn, in these proportions.
DRAWN_KINDS = ("push", "rerun", "fork_pr", "redeploy")
DRAWN_WEIGHTS = (0.45, 0.15, 0.15, 0.10)
DAILY_SHARE = 0.5  # repositories whose CI runs on a daily cron
SIX_HOURLY_SHARE = 0.05  # ... on a six-hourly one (the rest have no schedule)
SCHEDULE_DELAY_SECONDS = 600  # GitHub creates a scheduled run up to 10 minutes after its cron fires
SCHEDULE_KEEPS_STATE = 0.9  # a scheduled run concludes as the branch's newest counted run did, this often
METRICS = ("ci.tests_passing_on_main", "commits.hotfix", "commits.reverts", "prs.open", "dora.deployments")
SLOW_METRICS = frozenset({"prs.open", "dora.deployments"})  # kinds the issue lets lag (e.g. an hour)
# The metrics whose served value a change of each kind is meant to move.
AFFECTS = {
    "push": ("ci.tests_passing_on_main", "commits.hotfix", "commits.reverts"),
    "schedule": ("ci.tests_passing_on_main",),
    "rerun": ("ci.tests_passing_on_main",),
    "fork_pr": ("prs.open",),
    "redeploy": ("dora.deployments",),
}
BRANCH_EVENTS = frozenset({"push", "schedule", "workflow_dispatch"})
PASSED_OVER = frozenset({"cancelled", "skipped", "stale"})
# Shared, never mutated: a change gives a run a new list rather than editing one.
GREEN_JOBS = [FakeJob("lint"), FakeJob("tests")]
RED_JOBS = [FakeJob("lint"), FakeJob("tests", "failure")]

Values = tuple[float | None, ...]  # one per METRICS, in order


@dataclass(frozen=True)
class Change:
    """One planned change: `kind` happens to `repo` at Unix time `at` (details drawn when applied)."""

    repo: str
    kind: str
    at: float


def repo_name(index: int) -> str:
    return f"{ORG}/repo-{index:05d}"


def _seconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def _jobs(conclusion: str) -> list[FakeJob]:
    return GREEN_JOBS if conclusion == "success" else RED_JOBS


def workflow_text(cron: str | None) -> str:
    """`checks.yml` as a GitHub Actions workflow file: on pushes to main and pull requests, and on `cron`."""
    schedule = f'  schedule:\n    - cron: "{cron}"\n' if cron else ""
    steps = "    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n"
    return (
        f"name: Checks\non:\n  push:\n    branches: [{BRANCH}]\n  pull_request:\n{schedule}jobs:\n"
        f"  lint:\n{steps}      - run: make lint\n  tests:\n{steps}      - run: make test\n"
    )


_CRON_LINE = re.compile(r'^ +- cron: "([^"]+)"$', re.MULTILINE)


def cron(repo: FakeRepo) -> str | None:
    """The cron of the repository's CI workflow file (as `workflow_text` writes it), None without one."""
    found = _CRON_LINE.search(repo.workflow_text(WORKFLOW))
    return found[1] if found else None


@functools.lru_cache(maxsize=4096)
def fire_times(expression: str, after: float, until: float) -> tuple[float, ...]:
    """The Unix times in (after, until] at which the cron `expression` (UTC) fires."""
    fires = croniter(expression, datetime.fromtimestamp(after, UTC))
    found: list[float] = []
    while (fire := fires.get_next(float)) <= until:
        found.append(fire)
    return tuple(found)


def schedule_delay(seed: int, repo: str, fire: float) -> int:
    """Seconds from a cron's fire to the creation of its run (0 to SCHEDULE_DELAY_SECONDS), fixed per fire, so
    the history and the changes agree on a run created just after the history ends."""
    return random.Random(f"{seed}/{repo}/{fire}").randint(0, SCHEDULE_DELAY_SECONDS)


def _draw_cron(rng: random.Random) -> str | None:
    draw = rng.random()
    if draw < SIX_HOURLY_SHARE:
        return f"{rng.randrange(60)} */6 * * *"
    if draw < SIX_HOURLY_SHARE + DAILY_SHARE:
        return f"{rng.randrange(60)} {rng.randrange(24)} * * *"
    return None


def make_repo(index: int, now: datetime, seed: int) -> FakeRepo:
    """Repository `index` of the organisation as of `now` (deterministic for a seed)."""
    rng = random.Random(seed * 1_000_003 + index)
    name = repo_name(index)
    now = _seconds(now)
    commits: list[FakeCommit] = []
    for week in range(HISTORY_WEEKS):
        for _ in range(rng.randint(1, 5)):
            at = now - timedelta(seconds=rng.randint(week * 604_800 + 120, (week + 1) * 604_800))
            commits.append(_commit(name, len(commits), at, rng))
    commits.sort(key=lambda commit: commit.committer_date)
    run_id = index * 1_000_000
    runs: list[FakeRun] = []
    for commit in commits:
        if commit.committer_date >= now - timedelta(days=14):
            run_id += 1
            conclusion = "success" if rng.random() < 0.85 else "failure"
            runs.append(_run(run_id, conclusion, commit.committer_date, commit.sha, "push"))
    schedule = _draw_cron(rng)
    if schedule is not None:
        for fire in fire_times(schedule, (now - LOOKBACK).timestamp(), now.timestamp()):
            created = fire + schedule_delay(seed, name, fire)
            head = _head(commits, datetime.fromtimestamp(created, UTC))
            if created <= now.timestamp() and head is not None:  # one created later is a change to come
                run_id += 1
                conclusion = "success" if rng.random() < 0.9 else "failure"
                runs.append(_run(run_id, conclusion, datetime.fromtimestamp(created, UTC), head.sha, "schedule"))
    pulls: list[FakePull] = []
    for state in ["open"] * rng.randint(0, 4) + ["merged"] * rng.randint(0, 3):
        number = len(pulls) + 1
        created = now - timedelta(seconds=rng.randint(3600, 30 * 86_400))
        pull = FakePull(number, f"Change {number}", created, head_ref=f"feature-{number}")
        if state == "merged":
            pull.merged_at = min(now, created + timedelta(hours=rng.randint(1, 72)))
        elif rng.random() < 0.3:
            pull.fork = f"contrib-{number}/{name.split('/', 1)[1]}"
            pull.head_ref = "main" if rng.random() < 0.5 else f"patch-{number}"
            run_id += 1
            runs.append(_fork_run(run_id, pull, name))
        pulls.append(pull)
    deployments: list[FakeDeployment] = []
    if rng.random() < 0.6:
        for commit in rng.sample(commits, min(len(commits), rng.randint(1, 5))):
            created = min(now, commit.committer_date + timedelta(minutes=10))
            state = "success" if rng.random() < 0.9 else "failure"
            deployments.append(_deployment(index * 1_000_000 + len(deployments) + 1, commit.sha, created, state))
    return FakeRepo(
        name,
        runs=runs,
        commits={BRANCH: commits},
        pulls=pulls,
        deployments=deployments,
        created_at=REPO_CREATED + timedelta(minutes=index),
        workflow_texts={WORKFLOW: workflow_text(schedule)},
    )


def organisation(count: int, now: datetime, seed: int) -> list[FakeRepo]:
    """`count` repositories of ORG as of `now`."""
    return [make_repo(index, now, seed) for index in range(count)]


def _commit(repo: str, number: int, at: datetime, rng: random.Random) -> FakeCommit:
    draw = rng.random()
    if draw < 0.06:
        message, parents = f"hotfix: restore service {number}", 1
    elif draw < 0.10:
        message, parents = f'Revert "Change {number - 1}"', 1
    elif draw < 0.20:
        message, parents = f"Merge pull request #{number} from octo/feature-{number}", 2
    else:
        message, parents = f"Change {number}", 1
    return FakeCommit(stable_sha(repo, number), message, at, parents)


def _run(run_id: int, conclusion: str, at: datetime, sha: str, event: str) -> FakeRun:
    return FakeRun(id=run_id, conclusion=conclusion, event=event, created_at=at, head_sha=sha, jobs=_jobs(conclusion))


def _fork_run(run_id: int, pull: FakePull, repo: str) -> FakeRun:
    run = _run(run_id, "success", pull.created_at, pull.sha, "pull_request")
    run.head_branch, run.head_repository = pull.head_ref, pull.fork
    return run


def _deployment(deployment_id: int, sha: str, at: datetime, state: str) -> FakeDeployment:
    statuses = [FakeDeploymentStatus("in_progress", at), FakeDeploymentStatus(state, at)]
    return FakeDeployment(deployment_id, sha, at, environment=ENVIRONMENT, statuses=statuses)


def _head(commits: Sequence[FakeCommit], at: datetime) -> FakeCommit | None:
    """The branch's newest commit as of `at`."""
    before = [commit for commit in commits if commit.committer_date <= at]
    return max(before, key=lambda commit: commit.committer_date) if before else None


# --- changes ---------------------------------------------------------------------------------------


def plan(crons: Mapping[str, str | None], start: float, end: float, seed: int) -> list[Change]:
    """The changes of the interval (start, end], for the repositories `crons` names (in the organisation's
    order, each with its cron or None): a scheduled run for each fire of a cron whose run is created in the
    interval; then, among the other repositories, enough drawn changes (of DRAWN_KINDS in DRAWN_WEIGHTS, at
    whole seconds spread over the interval) that CHANGING_SHARE of all change; sorted by time."""
    names = list(crons)
    scheduled = [
        Change(name, "schedule", created)
        for name, expression in crons.items()
        if expression is not None
        for fire in fire_times(expression, start - SCHEDULE_DELAY_SECONDS, end)
        if start < (created := fire + schedule_delay(seed, name, fire)) <= end
    ]
    busy = {change.repo for change in scheduled}
    rng = random.Random(f"{seed}/{start}")
    free = [index for index, name in enumerate(names) if name not in busy]
    wanted = max(1, round(len(names) * CHANGING_SHARE)) - len(busy)
    chosen = rng.sample(free, min(len(free), max(0, wanted)))
    kinds = rng.choices(DRAWN_KINDS, DRAWN_WEIGHTS, k=len(chosen))
    span = max(1, int(end - start))
    changes = scheduled + [
        Change(names[index], kind, float(int(start) + rng.randint(1, span)))
        for index, kind in zip(chosen, kinds, strict=True)
    ]
    return sorted(changes, key=lambda change: (change.at, change.repo))


def apply(repo: FakeRepo, change: Change, seed: int) -> None:
    """Make `change` happen to `repo` (details drawn from a generator seeded by the change)."""
    rng = random.Random(f"{seed}/{change.repo}/{change.at}/{change.kind}")
    at = datetime.fromtimestamp(change.at, UTC)
    if change.kind == "push":
        push(repo, at, rng)
    elif change.kind == "schedule":
        scheduled_run(repo, at, _scheduled_conclusion(repo, at, rng))
    elif change.kind == "rerun":
        rerun(repo, at)
    elif change.kind == "fork_pr":
        fork_pull(repo, at)
    elif change.kind == "redeploy":
        redeploy(repo, at, rng)
    else:
        raise ValueError(f"unknown change kind {change.kind!r}")


def push(repo: FakeRepo, at: datetime, rng: random.Random, message: str | None = None) -> None:
    """A commit on main (some merging an open pull request) and the CI run it starts."""
    line = repo.commits.setdefault(BRANCH, [])
    sha = stable_sha(repo.full_name, "push", at.timestamp(), len(line))
    parents = 1
    if message is None:
        draw = rng.random()
        open_pulls = [pull for pull in repo.pulls if pull.state == "open" and pull.fork is None]
        if open_pulls and draw < 0.2:
            merged = rng.choice(open_pulls)
            merged.merged_at, merged.merge_commit_sha = at, sha
            message, parents = f"Merge pull request #{merged.number} from octo/{merged.head_ref}", 2
        elif draw < 0.35:
            message = "hotfix: roll back the cache change"
        elif draw < 0.45:
            message = 'Revert "Speed up the build"'
        else:
            message = f"Change at {at:%H:%M:%S}"
    line.append(FakeCommit(sha, message, at, parents))
    conclusion = "success" if rng.random() < 0.8 else "failure"
    repo.runs.append(_run(_next_run_id(repo), conclusion, at, sha, "push"))


def scheduled_run(repo: FakeRepo, at: datetime, conclusion: str) -> None:
    """A `schedule` run created at `at` on the head of main then (an old commit: no push)."""
    head = _head(repo.commits.get(BRANCH, []), at)
    if head is not None:
        repo.runs.append(_run(_next_run_id(repo), conclusion, at, head.sha, "schedule"))


def flipped(repo: FakeRepo, at: datetime) -> str:
    """The conclusion that turns the branch's CI state over at `at` ("success" when it has none)."""
    return "failure" if tests_passing(repo, at) == 1.0 else "success"


def _scheduled_conclusion(repo: FakeRepo, at: datetime, rng: random.Random) -> str:
    """Mostly (SCHEDULE_KEEPS_STATE) what the branch's newest counted run concluded, else the other."""
    kept = "failure" if tests_passing(repo, at) == 0.0 else "success"
    return kept if rng.random() < SCHEDULE_KEEPS_STATE else ("success" if kept == "failure" else "failure")


def rerun(repo: FakeRepo, at: datetime) -> None:
    """Re-run the newest counted run, its new attempt ending at `at` with the other conclusion (no push)."""
    run = _newest_counted_run(repo, at)
    if run is None:  # never in the bench's organisation: each repository has pushed in the last week
        scheduled_run(repo, at, flipped(repo, at))
        return
    before = run.conclusion
    earlier = list(run.earlier_conclusions[: run.run_attempt - 1])
    earlier += ["failure"] * (run.run_attempt - 1 - len(earlier))  # the fake's default for an unnamed attempt
    run.earlier_conclusions = [*earlier, before]
    run.run_attempt += 1
    run.conclusion = "failure" if before == "success" else "success"
    run.jobs = _jobs(run.conclusion)
    duration = run.duration(1)
    # Each attempt lasts `duration`; spread the re-runs so that the new attempt ends at `at`.
    waited = (at - run.created_at - duration * run.run_attempt) / (run.run_attempt - 1)
    run.rerun_delay = max(timedelta(0), waited)


def fork_pull(repo: FakeRepo, at: datetime) -> None:
    """A pull request against main from a fork, and the `pull_request` run GitHub starts for it."""
    number = max((pull.number for pull in repo.pulls), default=0) + 1
    fork = f"contrib-{number}/{repo.name}"
    pull = FakePull(number, f"Fix typo {number}", at, fork=fork, head_ref="main" if number % 2 else f"patch-{number}")
    repo.pulls.append(pull)
    repo.runs.append(_fork_run(_next_run_id(repo), pull, repo.full_name))


def redeploy(repo: FakeRepo, at: datetime, rng: random.Random, state: str | None = None) -> None:
    """A production deployment of an older commit (what was deployed before, or any but the head)."""
    line = sorted(repo.commits.get(BRANCH, []), key=lambda commit: commit.committer_date)
    shas = [deployment.sha for deployment in repo.deployments] or [commit.sha for commit in line[:-1]]
    if not shas:
        shas = [commit.sha for commit in line]
    if not shas:
        return
    if state is None:
        state = "success" if rng.random() < 0.9 else "failure"
    deployment_id = max((deployment.id for deployment in repo.deployments), default=repo.id * 1000) + 1
    repo.deployments.append(_deployment(deployment_id, rng.choice(shas), at, state))


def _next_run_id(repo: FakeRepo) -> int:
    return max((run.id for run in repo.runs), default=repo.id * 1000) + 1


# --- truth -----------------------------------------------------------------------------------------


def _conclusion_at(run: FakeRun, at: datetime) -> str | None:
    """The run's conclusion as GitHub showed it at `at`. A re-run changes the run in place when it happens,
    so a truth asked for a moment before a re-run that has happened since must take the attempt before."""
    if run.run_attempt > 1 and run.updated_at > at:
        return run.attempt(run.run_attempt - 1).conclusion
    return run.conclusion


def _newest_counted_run(repo: FakeRepo, at: datetime) -> FakeRun | None:
    counted = [
        run
        for run in repo.runs
        if run.workflow_file == WORKFLOW
        and run.head_branch == BRANCH
        and run.status == "completed"
        and run.event in BRANCH_EVENTS
        and _conclusion_at(run, at) not in PASSED_OVER
        and run.created_at <= at
    ]
    return max(counted, key=lambda run: (run.created_at, run.id)) if counted else None


def tests_passing(repo: FakeRepo, at: datetime) -> float | None:
    """1 when the branch's newest counted run (push, schedule, dispatch) succeeded, 0 if not, None without one."""
    run = _newest_counted_run(repo, at)
    if run is None:
        return None
    return 1.0 if _conclusion_at(run, at) == "success" else 0.0


def mentioning(repo: FakeRepo, at: datetime, word: str) -> float:
    """Non-merge commits on the branch in the window ending at `at` whose message contains `word`."""
    since = at - LOOKBACK
    return float(
        sum(
            1
            for commit in repo.commits.get(BRANCH, [])
            if since <= commit.committer_date <= at and commit.parents < 2 and word in commit.message.casefold()
        )
    )


def open_pulls(repo: FakeRepo, at: datetime) -> float:
    """Pull requests against the branch open at `at`."""
    return float(
        sum(
            1
            for pull in repo.pulls
            if pull.base_ref == BRANCH and pull.created_at <= at and (pull.closed is None or pull.closed > at)
        )
    )


def deployments(repo: FakeRepo, at: datetime) -> float | None:
    """Successful production deployments created in the window ending at `at`; None without any deployment."""
    made = [d for d in repo.deployments if d.environment == ENVIRONMENT and d.created_at <= at]
    if not made:
        return None
    since = at - LOOKBACK
    return float(
        sum(
            1
            for d in made
            if d.created_at >= since and any(s.state == "success" and s.created_at <= at for s in d.statuses)
        )
    )


def truth(repo: FakeRepo, at: datetime) -> Values:
    """What each of METRICS should serve for `repo` as of `at`."""
    return (
        tests_passing(repo, at),
        mentioning(repo, at, "hotfix"),
        mentioning(repo, at, "revert"),
        open_pulls(repo, at),
        deployments(repo, at),
    )


def truths(repos: Iterable[FakeRepo], at: datetime) -> dict[str, Values]:
    return {repo.full_name: truth(repo, at) for repo in repos}
