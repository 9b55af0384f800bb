"""Asking only about what changed (exporter/changes.py): each kind of change shows within its bound, and
what did not change costs no rate-limit point.

An exporter discovers `org:octo-org` (so pushes come from the account listing) on a clock the test moves
a refresh interval at a time; the fake GitHub changes as GitHub would between scrapes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json
import logging
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from exporter import changes
from exporter.changes import HeldState, plan, sweep_due, sweep_period
from exporter.demo import FakeGitHub
from exporter.demo.model import FakeDeployment, FakeDeploymentStatus, FakePull, FakeRepo
from exporter.settings import Settings
from tests.clocked import Clock, ClockedExporter, Scrape, SimulatedTime
from tests.conftest import NOW, commit, only_on, run, settings_for

ORG = "octo-org"
TTL = 900.0
SLOW = 3600.0
PERIOD = sweep_period(SLOW, TTL)
OLD_SHA = f"{1:040x}"  # the first commit's
ENV = {
    "EXPORTER_REPOS": f"org:{ORG}",
    "EXPORTER_CACHE_TTL_SECONDS": str(TTL),
    "EXPORTER_SLOW_DATA_SECONDS": str(SLOW),
    "EXPORTER_MAX_STALENESS_SECONDS": "86400",
    "EXPORTER_PR_STALE_DAYS": "1",
    **only_on("prs.open", "prs.stale", "dora.deployments"),
}


def quiet_name(start: float, refreshes: int, ttl: float = TTL) -> str:
    """A repository name whose slow sweep does not fall in the `refreshes` intervals after `start`, so a
    test can tell a sweep from a change it made."""
    for n in range(1000):
        name = f"{ORG}/app{n}"
        if not sweep_due(name, start, start + refreshes * ttl, sweep_period(SLOW, ttl)):
            return name
    raise AssertionError("no such name")  # 1000 phases: cannot happen while the period is over an interval


def org_repo(name: str) -> FakeRepo:
    """Green CI, a hotfix a day ago, an open pull request, a deployment a day ago."""
    return FakeRepo(
        name,
        runs=[run(1, "success", minutes_ago=60)],
        commits={"main": [commit(1, "hotfix: a", days_ago=1.0)]},
        pulls=[FakePull(1, "Change 1", NOW - timedelta(hours=2))],
        deployments=[deployment(1, NOW - timedelta(days=1))],
    )


def deployment(number: int, at: object, sha: str = OLD_SHA) -> FakeDeployment:
    statuses = [FakeDeploymentStatus("success", at + timedelta(minutes=5))]  # type: ignore[operator]
    return FakeDeployment(number, sha, at, statuses=statuses)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def made() -> Iterator[list[ClockedExporter]]:
    built: list[ClockedExporter] = []
    try:
        yield built
    finally:
        for exporter in built:
            exporter.close()


@pytest.fixture
def watched(fake: FakeGitHub, clock: Clock, made: list[ClockedExporter]) -> tuple[ClockedExporter, str]:
    """An exporter watching one repository (not swept in the next two intervals), after its first read."""
    name = quiet_name(clock.now, 2)
    fake.add_repo(org_repo(name))
    exporter = ClockedExporter(fake, clock, **ENV)
    made.append(exporter)
    first = exporter.scrape()
    assert value(first, "commits_hotfix", name) == 1.0
    assert value(first, "prs_open", name) == 1.0
    return exporter, name


def value(scrape: Scrape, metric: str, repo: str) -> float | None:
    labels = {"repo": repo, "branch": "main"} | ({"workflow": "checks.yml"} if metric.startswith("ci_") else {})
    return scrape.value(metric, **labels)


def next_refresh(exporter: ClockedExporter) -> Scrape:
    """One refresh interval on, a scrape (which refreshes), with the requests it made recorded alone."""
    exporter.clock.advance(TTL)
    exporter.fake.clear_requests()
    return exporter.scrape()


def asked(fake: FakeGitHub) -> list[str]:
    """What the recorded requests asked for, by the end of their path, in order."""
    return [request.path.rsplit("/", 1)[-1] for request in fake.requests]


def charged(fake: FakeGitHub) -> int:
    """The recorded requests GitHub charges a rate-limit point for (a 304 costs none)."""
    return sum(1 for request in fake.requests if request.status != 304)


# --- what did not change -------------------------------------------------------------------------


def test_a_refresh_with_nothing_changed_asks_the_pushes_and_the_runs_only_and_costs_no_point(
    watched: tuple[ClockedExporter, str],
) -> None:
    exporter, name = watched
    next_refresh(exporter)  # the first read of the recent pushes costs its point; it is conditional after
    scrape = next_refresh(exporter)
    assert sorted(asked(exporter.fake)) == ["repos", "runs"]  # the account's recent pushes, the CI probe
    assert charged(exporter.fake) == 0
    assert (value(scrape, "commits_hotfix", name), value(scrape, "prs_open", name)) == (1.0, 1.0)


# --- each kind of change, within its bound --------------------------------------------------------


def test_a_push_shows_at_the_next_refresh(watched: tuple[ClockedExporter, str], clock: Clock) -> None:
    exporter, name = watched
    pushed = exporter.fake.repo(name)
    pushed.commits["main"].append(dataclasses.replace(commit(2, "hotfix: b"), committer_date=clock.datetime()))
    pushed.runs.append(dataclasses.replace(run(2, "failure"), created_at=clock.datetime()))
    scrape = next_refresh(exporter)
    assert value(scrape, "commits_hotfix", name) == 2.0
    assert value(scrape, "ci_tests_passing_on_main", name) == 0.0
    assert "commits" in asked(exporter.fake)


def test_a_scheduled_run_on_an_old_commit_shows_at_the_next_refresh_though_nothing_was_pushed(
    watched: tuple[ClockedExporter, str], clock: Clock
) -> None:
    exporter, name = watched
    scheduled = dataclasses.replace(run(2, "failure", event="schedule", head_sha=OLD_SHA), created_at=clock.datetime())
    exporter.fake.repo(name).runs.append(scheduled)
    scrape = next_refresh(exporter)
    assert value(scrape, "ci_tests_passing_on_main", name) == 0.0
    assert "commits" not in asked(exporter.fake)  # no push: the commits are not asked for


def test_a_rerun_that_turns_main_green_shows_at_the_next_refresh(
    fake: FakeGitHub, clock: Clock, made: list[ClockedExporter]
) -> None:
    name = quiet_name(clock.now, 1)
    red = org_repo(name)
    red.runs = [run(1, "failure", minutes_ago=60)]
    fake.add_repo(red)
    exporter = ClockedExporter(fake, clock, **ENV)
    made.append(exporter)
    assert value(exporter.scrape(), "ci_tests_passing_on_main", name) == 0.0
    red.runs[0] = dataclasses.replace(red.runs[0], conclusion="success", run_attempt=2)
    assert value(next_refresh(exporter), "ci_tests_passing_on_main", name) == 1.0


def refreshes_until(exporter: ClockedExporter, shown: object, most: int) -> tuple[int, list[list[str]]]:
    """Refresh an interval at a time until `shown(scrape)` holds (at most `most` times): how many it took,
    and what each refresh asked for."""
    asks: list[list[str]] = []
    for count in range(1, most + 1):
        scrape = next_refresh(exporter)
        asks.append(asked(exporter.fake))
        if shown(scrape):  # type: ignore[operator]
            return count, asks
    raise AssertionError(f"not shown after {most} refreshes; asked {asks}")


def test_a_pull_request_from_a_fork_shows_within_the_slow_bound_read_on_the_sweep_only(
    watched: tuple[ClockedExporter, str], clock: Clock
) -> None:
    exporter, name = watched
    exporter.fake.repo(name).pulls.append(fork_pull(2, clock))
    count, asks = refreshes_until(exporter, lambda s: value(s, "prs_open", name) == 2.0, int(SLOW // TTL))
    assert count * TTL <= SLOW
    assert all("pulls" not in ask for ask in asks[:-1]) and "pulls" in asks[-1]  # read when its sweep came


def test_a_redeploy_of_an_old_commit_shows_within_the_slow_bound(
    watched: tuple[ClockedExporter, str], clock: Clock
) -> None:
    exporter, name = watched
    exporter.fake.repo(name).deployments.append(deployment(2, clock.datetime()))
    count, asks = refreshes_until(exporter, lambda s: value(s, "dora_deployments", name) == 2.0, int(SLOW // TTL))
    assert count * TTL <= SLOW
    assert all("deployments" not in ask for ask in asks[:-1])


NIGHTLY = "name: Checks\non:\n  push:\n  schedule:\n    - cron: '30 12 * * *'\n"  # fires at NOW + 30 min
# Past the count where every CI is probed: one repository is more than 60 % of one point a minute.
ECONOMY_TTL = 60.0
ECONOMY = ENV | {"EXPORTER_CACHE_TTL_SECONDS": str(ECONOMY_TTL), "EXPORTER_GITHUB_POINTS_PER_MINUTE": "1"}


def test_past_the_probe_count_a_nightly_run_shows_at_the_refresh_after_its_cron_fires_and_the_file_is_read_once(
    fake: FakeGitHub, clock: Clock, made: list[ClockedExporter]
) -> None:
    ci_period = changes.ci_sweep_period(1, settings_for(fake, **ECONOMY))  # 200 s: one repository, one point a minute
    before, fired = NOW.timestamp() + 29 * 60, NOW.timestamp() + 32 * 60
    name = next(  # no sweep of the slow kinds in the test, and none of the CI between minutes 29 and 32
        name
        for name in (f"{ORG}/app{n}" for n in range(1000))
        if not sweep_due(name, NOW.timestamp(), fired, sweep_period(SLOW, ECONOMY_TTL))
        and not sweep_due(name, before, fired, ci_period)
    )
    nightly = org_repo(name)
    nightly.workflow_texts = {"checks.yml": NIGHTLY}
    fake.add_repo(nightly)
    paced = SimulatedTime()  # one point a minute, on the pacer's own clock: no real wait
    exporter = ClockedExporter(fake, clock, pacing_clock=paced, pacing_sleep=paced.sleep, **ECONOMY)
    made.append(exporter)
    assert value(exporter.scrape(), "ci_tests_passing_on_main", name) == 1.0
    assert "checks.yml" in asked(fake)  # the workflow file, read with the first read

    def refresh_at(minutes: int) -> list[str]:
        clock.now = NOW.timestamp() + 60 * minutes
        fake.clear_requests()
        exporter.scrape()
        return asked(fake)

    assert set(refresh_at(1)) <= {"repos", "runs"}  # the push listing (its first read), the runs on the CI's sweep
    for minute in (2, 29):  # and after that, 304s only
        assert set(refresh_at(minute)) <= {"repos", "runs"} and charged(fake) == 0
    scheduled = run(2, "failure", event="schedule", head_sha=OLD_SHA)
    fake.repo(name).runs.append(dataclasses.replace(scheduled, created_at=NOW + timedelta(minutes=31)))
    assert "runs" in refresh_at(32)  # not the sweep's turn: the cron fired at minute 30
    assert value(exporter.scrape(), "ci_tests_passing_on_main", name) == 0.0


def test_a_workflow_file_that_is_not_a_workflow_is_named_in_a_warning_and_its_ci_probed_as_before(
    fake: FakeGitHub, clock: Clock, made: list[ClockedExporter], caplog: pytest.LogCaptureFixture
) -> None:
    name = quiet_name(clock.now, 40, ECONOMY_TTL)
    broken = org_repo(name)
    broken.workflow_texts = {"checks.yml": "on: [push\n"}
    earlier = run(2, "success", event="schedule", head_sha=OLD_SHA)
    broken.runs.append(dataclasses.replace(earlier, created_at=NOW - timedelta(hours=3)))
    fake.add_repo(broken)
    paced = SimulatedTime()
    exporter = ClockedExporter(fake, clock, pacing_clock=paced, pacing_sleep=paced.sleep, **ECONOMY)
    made.append(exporter)
    with caplog.at_level(logging.WARNING, logger="exporter.github.source"):
        assert value(exporter.scrape(), "ci_tests_passing_on_main", name) == 1.0
    assert f"{name}:.github/workflows/checks.yml is not valid YAML" in caplog.text
    clock.advance(ECONOMY_TTL)
    fake.clear_requests()
    exporter.scrape()
    assert "runs" in asked(fake)  # scheduled runs are among its runs: probed every refresh, as before
    assert "checks.yml" not in asked(fake)  # read again after the next push, not every refresh


# --- time alone -----------------------------------------------------------------------------------


def test_time_alone_moves_a_hotfix_out_of_the_window_and_makes_a_pull_request_stale_without_asking(
    fake: FakeGitHub, clock: Clock, made: list[ClockedExporter]
) -> None:
    name = quiet_name(clock.now, 1)
    aging = org_repo(name)
    aging.commits["main"] = [commit(1, "hotfix: old", days_ago=7 - 0.5 * TTL / 86400), commit(2, "hotfix: new")]
    aging.pulls = [FakePull(1, "Quiet", NOW - timedelta(days=2), updated_at=NOW - timedelta(days=1, seconds=-60))]
    fake.add_repo(aging)
    exporter = ClockedExporter(fake, clock, **ENV)
    made.append(exporter)
    first = exporter.scrape()
    assert (value(first, "commits_hotfix", name), value(first, "prs_stale", name)) == (2.0, 0.0)
    later = next_refresh(exporter)
    assert (value(later, "commits_hotfix", name), value(later, "prs_stale", name)) == (1.0, 1.0)
    assert "commits" not in asked(fake) and "pulls" not in asked(fake)


# --- the plan, on its own -------------------------------------------------------------------------


def test_data_never_read_is_read_and_marked_kinds_are_read_again() -> None:
    never = plan("o/r", HeldState(read_at={}), frozenset(), NOW.timestamp(), SLOW, TTL)
    assert set(never.values()) == {"read"}
    held = HeldState(read_at=dict.fromkeys(changes.KINDS, NOW.timestamp()), pushed_at=NOW.timestamp() - 86400)
    marked = plan("o/r", held, frozenset({"pulls"}), NOW.timestamp() + 1, SLOW, TTL, probe_every_ci=False)
    assert marked == {"ci": "hold", "commits": "hold", "pulls": "read", "deployments": "hold"}


def test_without_an_account_listing_the_commits_are_asked_every_refresh() -> None:
    held = HeldState(read_at=dict.fromkeys(changes.KINDS, NOW.timestamp()))  # pushed_at unknown
    assert plan("o/r", held, frozenset(), NOW.timestamp() + TTL, SLOW, TTL)["commits"] == "read"


def test_a_quiet_green_branchs_ci_waits_for_the_sweep_when_probing_every_one_does_not_fit() -> None:
    at = NOW.timestamp()
    quiet = HeldState(read_at=dict.fromkeys(changes.KINDS, at), pushed_at=at - 86400)
    for state in (quiet, dataclasses.replace(quiet, ci_red=True), dataclasses.replace(quiet, ci_scheduled=True)):
        assert plan("o/r", state, frozenset(), at + TTL, SLOW, TTL)["ci"] == "probe"  # it fits: every refresh
    name = quiet_name(at, 1)
    assert plan(name, quiet, frozenset(), at + TTL, SLOW, TTL, probe_every_ci=False)["ci"] == "hold"
    for busy in (dataclasses.replace(quiet, ci_red=True), dataclasses.replace(quiet, pushed_at=at)):
        assert plan(name, busy, frozenset(), at + TTL, SLOW, TTL, probe_every_ci=False)["ci"] == "probe"


def test_past_the_probe_count_a_scheduled_branchs_ci_is_probed_from_each_cron_fire_until_its_run_is_read() -> None:
    fired = NOW.timestamp()  # the cron below fires at NOW, 12:00
    slow = 86400.0  # a day's sweep, with a name whose sweep does not come in the two hours looked at
    period = sweep_period(slow, TTL)
    name = next(f"o/r{n}" for n in range(1000) if not sweep_due(f"o/r{n}", fired - TTL, fired + 7200, period))
    quiet = HeldState(
        read_at=dict.fromkeys(changes.KINDS, fired - TTL),
        pushed_at=fired - 86400,
        ci_scheduled=True,
        ci_crons=("0 12 * * *",),
        ci_newest_scheduled_at=fired - 86400 + 120,  # yesterday's run
    )

    def ci(state: HeldState, now: float) -> str:
        return plan(name, state, frozenset(), now, slow, TTL, probe_every_ci=False)["ci"]

    assert ci(quiet, fired - 60) == "hold"  # before the fire: nothing can have run
    assert ci(quiet, fired + 60) == "probe"
    assert ci(quiet, fired + changes.SCHEDULE_WATCH_SECONDS - 60) == "probe"  # GitHub may start it late
    assert ci(quiet, fired + changes.SCHEDULE_WATCH_SECONDS) == "hold"  # dropped: the sweep is the net
    assert ci(dataclasses.replace(quiet, ci_newest_scheduled_at=fired + 300), fired + 900) == "hold"  # it ran
    assert ci(dataclasses.replace(quiet, ci_crons=None), fired - 60) == "probe"  # not known: the runs decide
    assert ci(dataclasses.replace(quiet, ci_crons=()), fired + 60) == "hold"  # the schedule was removed


def test_past_the_probe_count_quiet_green_branches_ci_is_swept_as_often_as_its_share_of_the_budget_allows() -> None:
    settings = Settings.from_env(
        {
            "EXPORTER_REPOS": "o/r",
            "EXPORTER_CACHE_TTL_SECONDS": "840",
            "EXPORTER_SLOW_DATA_SECONDS": "14400",
            "EXPORTER_GITHUB_POINTS_PER_MINUTE": "720",
        }
    )
    budget = 720 * 840 / 60  # requests a refresh interval
    assert changes.probes_every_refresh(6048, settings) and changes.bound("ci", settings, 6048) == 840
    period = changes.ci_sweep_period(10_000, settings)
    assert 10_000 * 840 / period == pytest.approx(changes.CI_SWEEP_SHARE * budget)  # 3,024 probes a refresh
    assert changes.bound("ci", settings, 10_000) == pytest.approx(period + 840)  # about an hour, not 4
    assert changes.ci_sweep_period(100_000, settings) == sweep_period(14400, 840)  # never past the slow sweep
    name = next(f"o/r{n}" for n in range(1000) if sweep_due(f"o/r{n}", 0.0, 900.0, period))
    quiet = HeldState(read_at=dict.fromkeys(changes.KINDS, 0.0), pushed_at=-86400.0)
    assert plan(name, quiet, frozenset(), 900.0, 14400, 840, probe_every_ci=False, ci_period=period)["ci"] == "probe"


def test_the_workflow_file_is_read_past_the_probe_count_when_never_read_and_after_each_push() -> None:
    at = NOW.timestamp()
    never = HeldState(read_at={}, pushed_at=at - 86400)
    assert not changes.reads_schedule(never, probe_every_ci=True)  # every CI is probed anyway
    assert changes.reads_schedule(never, probe_every_ci=False)
    read = dataclasses.replace(never, schedule_read_at=at)
    assert not changes.reads_schedule(read, probe_every_ci=False)
    assert changes.reads_schedule(dataclasses.replace(read, pushed_at=at + 600), probe_every_ci=False)
    assert not changes.reads_schedule(dataclasses.replace(never, pushed_at=None), probe_every_ci=False)  # no signal


def test_the_sweep_reads_each_repository_once_a_period_and_an_even_share_each_interval() -> None:
    names = [f"org/repo-{n}" for n in range(10_000)]
    start = NOW.timestamp()
    shares = [sum(sweep_due(name, start + k * TTL, start + (k + 1) * TTL, PERIOD) for name in names) for k in range(8)]
    expected = len(names) * TTL / PERIOD
    assert all(abs(share - expected) < 0.05 * expected for share in shares), (shares, expected)
    assert all(sweep_due(name, start, start + PERIOD, PERIOD) for name in names)  # none waits past a period


# --- webhooks: at once ------------------------------------------------------------------------------


def test_a_pull_request_delivery_reads_that_repositorys_pull_requests_at_the_next_scrape_inside_the_ttl(
    fake: FakeGitHub, clock: Clock, made: list[ClockedExporter]
) -> None:
    exporter, name = fork_pull_delivered(fake, clock, made)
    fake.clear_requests()
    scrape = exporter.scrape()
    assert value(scrape, "prs_open", name) == 2.0
    assert "pulls" in asked(fake) and "deployments" not in asked(fake) and "commits" not in asked(fake)


SECRET = "webhook secret"


def fork_pull_delivered(fake: FakeGitHub, clock: Clock, made: list[ClockedExporter]) -> tuple[ClockedExporter, str]:
    """An exporter with webhooks after its first read; then a fork opens a pull request, and a minute on
    (well inside the TTL) its `pull_request` delivery is accepted."""
    name = quiet_name(clock.now, 1)
    fake.add_repo(org_repo(name))
    exporter = ClockedExporter(fake, clock, EXPORTER_WEBHOOK_SECRET=SECRET, **ENV)
    made.append(exporter)
    exporter.scrape()
    fake.repo(name).pulls.append(fork_pull(2, clock))
    clock.advance(60)
    assert deliver(exporter, "pull_request", name).status_code == 202
    return exporter, name


def fork_pull(number: int, clock: Clock) -> FakePull:
    """A pull request opened now from a fork's branch named like ours."""
    return FakePull(number, "From a fork", clock.datetime(), fork="someone/app", head_ref="main")


def deliver(exporter: ClockedExporter, event: str, repo: str) -> httpx.Response:
    """One signed delivery of `event` for `repo` to POST /webhook, in process."""
    body = json.dumps({"action": "opened", "repository": {"full_name": repo}}).encode()
    head = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": f"delivery-{event}-{repo}",
        "X-Hub-Signature-256": "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
        "Content-Type": "application/json",
    }

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=exporter.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://exporter") as client:
            return await client.post("/webhook", content=body, headers=head)

    return asyncio.run(send())


# --- a cold start under the primary limit ---------------------------------------------------------


def test_first_reads_take_only_their_share_of_the_points_left_and_the_rest_wait_with_rate_limited(
    fake: FakeGitHub, clock: Clock, made: list[ClockedExporter]
) -> None:
    fake.rate_limit = 400  # points an hour; the reserve (100) leaves 300
    names = [f"{ORG}/cold{n:02d}" for n in range(40)]
    for name in names:
        fake.add_repo(org_repo(name))
    paced = SimulatedTime()  # the pacer's own clock: no real wait, and the test's clock stays put
    exporter = ClockedExporter(
        fake, clock, pacing_clock=paced, pacing_sleep=paced.sleep, EXPORTER_GITHUB_CONCURRENCY="1", **ENV
    )
    made.append(exporter)
    exporter.collector.refresh().result(timeout=120)
    first = exporter.scrape()
    read = {name for name in names if value(first, "commits_hotfix", name) is not None}
    # half of the 300 left beyond the reserve (less the discovery's page), 7 points a first read: about 20 of 40
    assert 10 < len(read) < 30, len(read)
    refused = exporter.collector.snapshot.last.failed  # type: ignore[union-attr]
    assert {result.reason for result in refused} == {"rate_limited"}
    assert all("waits for GitHub's rate limit" in (result.error or "") for result in refused)
    assert len({result.repo for result in refused}) == len(names) - len(read)
    assert fake.points_used < fake.rate_limit - 100  # the reserve is left alone
    exporter.clock.advance(TTL)
    exporter.collector.refresh().result(timeout=120)
    second = exporter.scrape()
    served = {name for name in names if value(second, "commits_hotfix", name) is not None}
    assert read <= served and len(served) > len(read)  # still served, and more read


def test_after_a_delivery_the_status_page_shows_the_change_when_it_is_next_loaded(
    fake: FakeGitHub, clock: Clock, made: list[ClockedExporter]
) -> None:
    exporter, name = fork_pull_delivered(fake, clock, made)

    async def load() -> dict[str, object]:
        transport = httpx.ASGITransport(app=exporter.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://exporter") as client:
            assert (await client.get("/")).status_code == 200  # a person opens the page: it refreshes first
            answer: dict[str, object] = (await client.get("/status.json")).json()
            return answer

    page = asyncio.run(load())
    (repo,) = [repo for repo in page["repos"] if repo["name"] == name]  # type: ignore[attr-defined]
    (row,) = [row for row in repo["rows"] if row["key"] == "prs.open"]
    assert row["value"].startswith("2 ")
