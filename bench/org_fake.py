"""The fake GitHub of `bench.org_scale`, in a forked child process on the bench's virtual clock.

The child holds the organisation (bench/organisation.py) and a `ChangingGitHub` serving it, so the
parent's resident memory is the exporter's (and the bench's bookkeeping), not the fake's. The parent
talks to it through a pipe (`FakeProcess`): plan an interval's changes, read the counters of what
GitHub saw, read the truth, plant deliberately stale values (the self-check), stop.
"""

from __future__ import annotations

import heapq
import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any

from bench import organisation
from bench.organisation import Change, Values
from bench.virtual_clock import VirtualClock
from exporter.demo import FakeGitHub
from exporter.demo.faults import Fault
from exporter.demo.model import FakeRepo

# GitHub's figures: an App installation's primary limit at its largest, the secondary limits per identity.
PRIMARY_POINTS_PER_HOUR = 12_500
SECONDARY_POINTS_PER_MINUTE = 900
MAX_CONCURRENT = 100
ANSWER_SECONDS = 600.0  # the most the parent waits for the child to answer one message (real time)


class ChangingGitHub(FakeGitHub):
    """A FakeGitHub whose repositories change on a schedule: each planned change is applied when the
    clock reaches its time, before the first answer given at or after it (never earlier, so the model
    is what GitHub would show at every moment, even while a paced refresh moves the clock)."""

    def __init__(self, repos: list[FakeRepo], seed: int, **kwargs: Any) -> None:
        super().__init__(repos, **kwargs)
        self.seed = seed
        self.by_name = {repo.full_name: repo for repo in repos}
        self._due: list[tuple[float, int, Change]] = []
        self._planned = 0

    def schedule(self, changes: list[Change]) -> None:
        with self._lock:
            for change in changes:
                self._planned += 1
                heapq.heappush(self._due, (change.at, self._planned, change))

    def apply_due(self) -> None:
        """Apply every planned change whose time has come."""
        with self._lock:
            now = self.clock().timestamp()
            while self._due and self._due[0][0] <= now:
                _, _, change = heapq.heappop(self._due)
                organisation.apply(self.by_name[change.repo], change, self.seed)

    def answer(
        self,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        fault: Fault | None,
        identity: str = "",
    ) -> tuple[int, bytes | None, dict[str, str]]:
        self.apply_due()
        return super().answer(path, query, headers, fault, identity)


@dataclass
class Counted:
    """What GitHub saw since the last count."""

    requests: int = 0
    not_modified: int = 0
    secondary_refused: int = 0
    primary_refused: int = 0
    primary_points: int = 0
    secondary_points: int = 0
    peak_points_per_minute: int = 0
    peak_concurrency: int = 0
    fake_rss_kib: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)  # requests by what they asked for (`request_kind`)


class _Child:
    """The child's side: the organisation, the fake serving it, and the counters between two counts."""

    def __init__(self, clock: VirtualClock, count: int, seed: int, secondary: bool) -> None:
        started = time.perf_counter()
        repos = organisation.organisation(count, clock.datetime(), seed)
        self.generation_seconds = time.perf_counter() - started
        self.fake = ChangingGitHub(
            repos,
            seed,
            rate_limit=PRIMARY_POINTS_PER_HOUR,
            clock=clock.datetime,
            secondary_points_per_minute=SECONDARY_POINTS_PER_MINUTE if secondary else None,
            max_concurrent=MAX_CONCURRENT if secondary else None,
        )
        self.crons = {repo.full_name: organisation.cron(repo) for repo in repos}  # no change edits a workflow file
        self.clock = clock
        self.seed = seed
        self._refused_before = 0
        self._minute_points_before = 0

    def plan(self, start: float, end: float) -> list[Change]:
        changes = organisation.plan(self.crons, start, end, self.seed)
        self.fake.schedule(changes)
        return changes

    def counted(self, since: float) -> Counted:
        fake = self.fake
        requests = fake.requests
        fake.clear_requests()
        statuses = Counter(request.status for request in requests)
        with fake._lock:
            refused = fake.secondary_refusals
            minute_points = fake.points_per_minute()
            peak_concurrency, fake.peak_concurrency = fake.peak_concurrency, 0
        points = sum(minute_points.values())
        first_minute = int(since // 60)
        counted = Counted(
            requests=len(requests),
            not_modified=statuses[304],
            secondary_refused=refused - self._refused_before,
            primary_refused=statuses[403] - (refused - self._refused_before),
            # GitHub charges an answer other than a 304 or a limit's refusal (a 404 too); /rate_limit is free.
            primary_points=sum(
                1 for request in requests if request.status not in (0, 304, 403) and request.path != "/rate_limit"
            ),
            secondary_points=points - self._minute_points_before,
            peak_points_per_minute=max(
                (value for (_, minute), value in minute_points.items() if minute >= first_minute), default=0
            ),
            peak_concurrency=peak_concurrency,
            fake_rss_kib=memory_kib(os.getpid())[0],
            by_kind=dict(Counter(request_kind(request.path, request.query) for request in requests)),
        )
        self._refused_before, self._minute_points_before = refused, points
        return counted

    def set_primary_limit(self, limit: int) -> None:
        """GitHub's primary limit from now on, in a fresh hour (the warm-up runs without one)."""
        fake = self.fake
        with fake._lock:
            fake.rate_limit = limit
            fake._window_reset = None
        fake.points_used = 0

    def truths(self, moments: list[float]) -> list[dict[str, Values]]:
        self.fake.apply_due()
        with self.fake._lock:
            return [organisation.truths(self.fake.repos, datetime.fromtimestamp(moment, UTC)) for moment in moments]

    def plant_stale(self, count: int) -> list[tuple[str, str]]:
        """Change `count` (repository, metric) pairs now, telling nobody: each served value is then stale."""
        self.fake.apply_due()
        at = self.clock.datetime()
        names = list(self.fake.by_name)
        planted = []
        with self.fake._lock:
            for number in range(count):
                metric = organisation.METRICS[number % len(organisation.METRICS)]
                repo = self.fake.by_name[names[number % len(names)]]
                _plant(repo, metric, at, random.Random(number))
                planted.append((repo.full_name, metric))
        return planted


def _plant(repo: FakeRepo, metric: str, at: datetime, rng: random.Random) -> None:
    """Move `metric`'s truth for `repo` at `at`, touching as little else as the model allows."""
    if metric == "ci.tests_passing_on_main":
        # Off the repository's cron, if it has one: a run no probe is due to find, which is the point here.
        organisation.scheduled_run(repo, at, organisation.flipped(repo, at))
    elif metric in ("commits.hotfix", "commits.reverts"):
        message = "hotfix: planted" if metric == "commits.hotfix" else 'Revert "planted"'
        before = organisation.tests_passing(repo, at)
        organisation.push(repo, at, rng, message=message)
        # Keep the branch's CI state as it was: the push's run concludes as the previous newest run did.
        repo.runs[-1].conclusion = "failure" if before == 0.0 else "success"
        repo.runs[-1].jobs = organisation.RED_JOBS if before == 0.0 else organisation.GREEN_JOBS
    elif metric == "prs.open":
        organisation.fork_pull(repo, at)
    else:
        organisation.redeploy(repo, at, rng, state="success")


def request_kind(path: str, query: dict[str, str]) -> str:
    """What a request asked for, in a word: the rows of the bench's cost-by-kind table."""
    if path.endswith("/repos"):
        return "listing (pushes)" if query.get("sort") == "pushed" else "listing (full)"
    for ending in ("/runs", "/jobs", "/commits", "/pulls", "/deployments", "/statuses", "/releases"):
        if path.endswith(ending):
            return ending[1:]
    return "attempts" if "/attempts/" in path else "compare" if "/compare/" in path else "other"


def memory_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in KiB, from /proc (as tests/processes.py reads them, without importing
    the test helpers into the process measured)."""
    values = {"VmRSS": 0, "VmHWM": 0}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in values:
                values[name] = int(rest.split()[0])
    return values["VmRSS"], values["VmHWM"]


def _serve(connection: Connection, clock: VirtualClock, count: int, seed: int, secondary: bool) -> None:
    """The child's loop: one answer per message, until "stop"."""
    child = _Child(clock, count, seed, secondary)
    url = child.fake.start()
    try:
        connection.send((url, child.generation_seconds))
        while True:
            name, args = connection.recv()
            if name == "stop":
                break
            connection.send(getattr(child, name)(*args))
    finally:
        child.fake.stop()
        connection.close()


class FakeProcess:
    """The parent's handle on the child: each call sends one message and waits (bounded) for its answer."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def _ask(self, name: str, *args: Any) -> Any:
        self._connection.send((name, args))
        if not self._connection.poll(ANSWER_SECONDS):
            raise TimeoutError(f"the fake GitHub's process did not answer {name!r} within {ANSWER_SECONDS:.0f}s")
        return self._connection.recv()

    def plan(self, start: float, end: float) -> list[Change]:
        """Plan (and schedule) the changes of the interval (start, end]."""
        changes: list[Change] = self._ask("plan", start, end)
        return changes

    def counted(self, since: float) -> Counted:
        """What GitHub saw since the last count (peak points a minute: over the minutes from `since`)."""
        counted: Counted = self._ask("counted", since)
        return counted

    def truths(self, moments: list[float]) -> list[dict[str, Values]]:
        """For each moment, each repository's true values of organisation.METRICS."""
        found: list[dict[str, Values]] = self._ask("truths", moments)
        return found

    def set_primary_limit(self, limit: int) -> None:
        self._ask("set_primary_limit", limit)

    def plant_stale(self, count: int) -> list[tuple[str, str]]:
        planted: list[tuple[str, str]] = self._ask("plant_stale", count)
        return planted


@contextmanager
def fake_process(
    clock: VirtualClock, count: int, seed: int, secondary: bool
) -> Iterator[tuple[FakeProcess, str, float]]:
    """Fork the fake (before the caller starts any thread); yield (handle, URL, generation seconds); stop it."""
    context = clock.context
    parent_end, child_end = context.Pipe()
    process = context.Process(target=_serve, args=(child_end, clock, count, seed, secondary), daemon=True)
    process.start()
    child_end.close()
    try:
        if not parent_end.poll(ANSWER_SECONDS):
            raise TimeoutError(f"the fake GitHub's process did not start within {ANSWER_SECONDS:.0f}s")
        url, generation_seconds = parent_end.recv()
        yield FakeProcess(parent_end), url, generation_seconds
    finally:
        with suppress(OSError):  # the child is gone already
            parent_end.send(("stop", ()))
        process.join(timeout=30)
        if process.is_alive():
            process.terminate()
            process.join(timeout=10)
        if process.is_alive():
            process.kill()
            process.join(timeout=10)
        parent_end.close()
