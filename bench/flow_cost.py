"""What the CI flow and pull-request flow metrics (issue 10) cost GitHub: requests and points per refresh
for each kind of data they read, cold and warm, on the demo repository and on a busy one.

    .venv/bin/python -m bench.flow_cost

Counted from the fake GitHub's request log (one point a request GitHub answers with a body, none for a
304), on loopback; no timing is claimed here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from bench.common import Report, Wired, measure, now, running, wire
from exporter.demo import FakeGitHub, FakeJob, FakeRepo, FakeRun
from exporter.demo.model import FakePull
from exporter.demo.sample import REPO as DEMO_REPO
from exporter.demo.sample import demo_repo
from exporter.demo.server import RecordedRequest
from tests.conftest import FLOW_METRICS

FLOW = FLOW_METRICS  # the CI and pull-request flow metrics, as the tests name them
BUSY_REPO = "bench-org/busy"
# Each kind of data: the metrics that read it, and which requests are its own.
KINDS: tuple[tuple[str, tuple[str, ...], Callable[[RecordedRequest], bool]], ...] = (
    ("CI runs in the window", ("ci.runs",), lambda r: r.path.endswith("/runs") and "created" in r.query),
    ("earlier attempts of re-runs", ("ci.flaky_runs",), lambda r: "/attempts/" in r.path),
    ("open pull requests", ("prs.open",), lambda r: r.path.endswith("/pulls") and r.query.get("state") == "open"),
    ("pull requests closed in the window", ("prs.merged",), lambda r: r.path.endswith("/pulls") and "sort" in r.query),
)


def busy_repo(at: datetime) -> FakeRepo:
    """A busy repository: 300 runs of checks.yml on main in the week (12 re-run after a failure), 150 open
    pull requests and 250 merged in the week, beside 400 merged before it."""
    runs = [
        FakeRun(
            id=5_000_000 + n,
            conclusion="failure" if n % 9 == 4 else "success",
            created_at=at - timedelta(minutes=20 + 33 * n),
            run_attempt=2 if n % 25 == 3 else 1,
            jobs=[FakeJob("lint"), FakeJob("tests")],
        )
        for n in range(300)
    ]
    hour = timedelta(hours=1)
    pulls = [FakePull(10_000 + n, f"Open {n}", at - n * 3 * hour, at - n * hour) for n in range(150)]
    pulls += [
        FakePull(20_000 + n, f"Merged {n}", at - (n * 0.6 + 8) * hour, merged_at=at - n * 0.6 * hour)
        for n in range(250)
    ]
    pulls += [
        FakePull(30_000 + n, f"Old {n}", at - timedelta(days=9) - n * hour, merged_at=at - timedelta(days=8) - n * hour)
        for n in range(400)
    ]
    return FakeRepo(BUSY_REPO, runs=runs, pulls=pulls)


def disabled_but(enabled: Sequence[str]) -> str:
    return ",".join(key for key in FLOW if key not in enabled)


def own_cost(fake: FakeGitHub, wired: Wired, mine: Callable[[RecordedRequest], bool]) -> tuple[int, int]:
    """(requests, points) of one refresh that are one kind's own."""
    measure(fake, wired)
    requests = [r for r in fake.requests if mine(r)]
    return len(requests), sum(1 for r in requests if r.status == 200)


def kinds(report: Report, name: str, repo: Callable[[datetime], FakeRepo]) -> None:
    """A row per data kind: its own requests and points, cold then warm (nothing changed)."""
    for kind, metrics, mine in KINDS:
        with running(FakeGitHub(repos=[repo(now())])) as fake:
            wired = wire(fake, [repo(now()).full_name], EXPORTER_METRICS_DISABLED=disabled_but(metrics))
            cold, warm = own_cost(fake, wired, mine), own_cost(fake, wired, mine)
        report.add(
            "10", f"{name}: {kind}, GETs cold / warm", f"{cold[0]} / {warm[0]}", note=f"read by {', '.join(metrics)}"
        )
        report.add("10", f"{name}: {kind}, points cold / warm", f"{cold[1]} / {warm[1]}")


def whole_refresh(report: Report, name: str, repo: Callable[[datetime], FakeRepo]) -> None:
    """The whole refresh with the flow metrics off (today's cost) and on, cold, warm and after news."""
    for label, disabled in (("flow metrics off (today)", ",".join(FLOW)), ("every metric on", "")):
        with running(FakeGitHub(repos=[repo(now())])) as fake:
            full_name = repo(now()).full_name
            wired = wire(fake, [full_name], EXPORTER_METRICS_DISABLED=disabled)
            cold, warm = measure(fake, wired), measure(fake, wired)
            target = fake.repo(full_name)
            target.runs.append(FakeRun(id=8_000_000, conclusion="failure", created_at=now()))
            new_run = measure(fake, wired)
            target.pulls.append(FakePull(99_999, "Just merged", now() - timedelta(hours=3), merged_at=now()))
            new_pull = measure(fake, wired)
        report.add(
            "10",
            f"{name}: whole refresh, {label}: GETs / points",
            f"cold {cold.requests} / {cold.points}; warm {warm.requests} / {warm.points}",
            note=f"one new CI run: {new_run.points} points; one new merge: {new_pull.points} points",
        )


def run(report: Report) -> None:
    for name, repo in (("demo repo", demo_repo), ("busy repo", busy_repo)):
        kinds(report, name, repo)
        whole_refresh(report, name, repo)


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    report = Report()
    run(report)
    print(f"python -m bench.flow_cost ({DEMO_REPO} as the demo serves it; {BUSY_REPO})")
    print(report.table())


if __name__ == "__main__":
    main()
