"""Goals 1 and 2: requests and points per refresh, beside the old cron job's algorithm."""

from __future__ import annotations

from bench.common import (
    COMMITS_PER_PAGE,
    TOKEN,
    Report,
    add_commit,
    add_run,
    make_repo,
    measure,
    now,
    running,
    wire,
)
from exporter.demo import FakeGitHub
from tests.old_job import old_job_refresh

REPO = "bench-org/app"


def _old_job_cost(fake: FakeGitHub, per_page: int) -> tuple[int, int]:
    fake.clear_requests()
    points = fake.points_used
    old_job_refresh(fake.url, TOKEN, REPO, "main", "checks.yml", now(), per_page=per_page)
    return len(fake.requests), fake.points_used - points


def run(report: Report, quick: bool) -> dict[str, float]:
    """Add goal 1 and 2 rows; return per-repository points for the capacity arithmetic."""
    facts: dict[str, float] = {}
    for pages in (1, 3, 10):
        commits = pages * COMMITS_PER_PAGE - 10
        with running(FakeGitHub(repos=[make_repo(REPO, now(), commits)])) as fake:
            wired = wire(fake, [REPO])
            first = measure(fake, wired)
            second = measure(fake, wired)
            old_requests, old_points = _old_job_cost(fake, per_page=30)
            old_requests_100, _ = _old_job_cost(fake, per_page=100)
            add_commit(fake.repo(REPO), now())
            one_commit = measure(fake, wired)
            add_run(fake.repo(REPO), now())
            one_run = measure(fake, wired)
        label = f"{pages} page{'s' if pages > 1 else ''} ({commits} commits)"
        report.add(
            "1",
            f"GETs per refresh, {label}",
            first.requests,
            old_requests,
            "old job",
            "",
            f"old algorithm at per_page=100: {old_requests_100}",
        )
        report.add(
            "2",
            f"points, 2nd refresh, nothing new, {label}",
            second.points,
            old_points,
            "old job",
            "",
            f"{second.not_modified} of {second.requests} GETs answered 304",
        )
        report.add(
            "2",
            f"points after one new commit, {label}",
            one_commit.points,
            old_points,
            "old job",
            "",
            "every commits page shifts by one" if pages > 1 else "the commits page only",
        )
        report.add(
            "2",
            f"points after one new CI run, {label}",
            one_run.points,
            old_points,
            "old job",
            "",
            "runs list + the new run's jobs",
        )
        if pages == 1:
            facts.update(
                first=first.points, second=second.points, commit=one_commit.points, run=one_run.points, old=old_points
            )
    return facts
