"""CI flow over the lookback window (ci.main_red_seconds, ci.runs, ci.flaky_runs, ci.run_duration_seconds),
computed through PyGithub from the fake GitHub."""

from __future__ import annotations

from datetime import timedelta

import pytest

from exporter.demo import FakeGitHub, FakeJob
from exporter.github.source import MAX_RUNS_READ
from tests.conftest import FLOW_ON, REPO, Wiring, commit, later_metrics, repo, run
from tests.helpers import series, value

RED, RUNS, FLAKY, DURATION = "ci.main_red_seconds", "ci.runs", "ci.flaky_runs", "ci.run_duration_seconds"
DAY = 24 * 60  # minutes
WINDOW_RUNS = f"/repos/{REPO}/actions/workflows/checks.yml/runs"
CI_FLOW = ("ci.main_red_seconds", "ci.runs", "ci.flaky_runs", "ci.run_duration_seconds")
NONE_OF_THEM = dict.fromkeys(("success", "failure", "cancelled", "timed_out", "other"), 0.0)


def counts(**found: float) -> dict[str, float]:
    """ci.runs as it reads: every conclusion, 0 unless given."""
    return NONE_OF_THEM | found


# --- no data, one run, the red streak ------------------------------------------------------


def test_without_runs_in_the_window_there_is_no_red_streak_or_duration_and_every_count_is_zero(
    fake: FakeGitHub, wire: Wiring
) -> None:
    fake.add_repo(repo(runs=[run(1, "failure", minutes_ago=8 * DAY)]))  # older than the 7-day window
    result = wire(**FLOW_ON).refresher()
    assert value(result, RED) is None
    assert value(result, DURATION) is None
    assert value(result, RUNS) == NONE_OF_THEM
    assert value(result, FLAKY) == 0.0
    assert value(result, "ci.tests_passing_on_main") == 0.0  # the run before the window still says how main is


def test_one_passing_run_is_green_counted_once_and_its_duration_is_every_percentile(
    fake: FakeGitHub, wire: Wiring
) -> None:
    fake.add_repo(repo(runs=[run(1, "success", minutes_ago=30, durations=[timedelta(minutes=11)])]))
    result = wire(**FLOW_ON).refresher()
    assert value(result, RED) == 0.0
    assert value(result, RUNS) == counts(success=1)
    assert value(result, DURATION) == {"50": 660.0, "90": 660.0}


def test_a_red_streak_still_open_counts_from_the_first_failure_after_the_last_pass(
    fake: FakeGitHub, wire: Wiring
) -> None:
    runs = [
        run(4, "failure", minutes_ago=10),
        run(3, "cancelled", minutes_ago=30),  # passed over: it neither passes nor fails the branch
        run(2, "timed_out", minutes_ago=95),
        run(1, "success", minutes_ago=200),
    ]
    fake.add_repo(repo(runs=runs))
    result = wire(**FLOW_ON).refresher()
    assert value(result, RED) == 95 * 60.0
    assert value(result, "ci.tests_passing_on_main") == 0.0
    assert value(result, RUNS) == counts(success=1, failure=1, cancelled=1, timed_out=1)


def test_a_pass_after_a_failure_ends_the_streak_and_a_newest_cancelled_run_does_not_reopen_it(
    fake: FakeGitHub, wire: Wiring
) -> None:
    runs = [run(3, "cancelled", minutes_ago=5), run(2, "success", minutes_ago=20), run(1, "failure", minutes_ago=90)]
    fake.add_repo(repo(runs=runs))
    assert value(wire(**FLOW_ON).refresher(), RED) == 0.0


def test_a_streak_older_than_the_window_reads_as_the_age_of_the_windows_oldest_failure(
    fake: FakeGitHub, wire: Wiring
) -> None:
    runs = [
        run(3, "failure", minutes_ago=60),
        run(2, "failure", minutes_ago=6 * DAY),
        run(1, "success", minutes_ago=7 * DAY + 30),  # the last pass, half an hour before the window
    ]
    fake.add_repo(repo(runs=runs))
    assert value(wire(**FLOW_ON).refresher(), RED) == 6 * DAY * 60.0  # a lower bound: the window cannot say more


def test_only_cancelled_runs_in_the_window_is_no_red_streak_data(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(1, "cancelled"), run(2, "skipped", minutes_ago=20)]))
    result = wire(**FLOW_ON).refresher()
    assert value(result, RED) is None
    assert value(result, RUNS) == counts(cancelled=1, other=1)


# --- which runs count, the window's edges, paging --------------------------------------------


def test_only_the_branchs_own_completed_runs_count(fake: FakeGitHub, wire: Wiring) -> None:
    runs = [
        run(1, "success", event="schedule"),
        run(2, "success", event="workflow_dispatch", minutes_ago=20),
        run(3, "failure", event="pull_request", minutes_ago=30, head_repository="fork/app"),  # a fork's `main`
        run(4, "failure", event="merge_group", minutes_ago=40),
        run(5, "failure", head_branch="feature", minutes_ago=50),
        run(6, None, status="in_progress", minutes_ago=1),
        run(7, "startup_failure", minutes_ago=60),
    ]
    fake.add_repo(repo(runs=runs))
    result = wire(**FLOW_ON).refresher()
    assert value(result, RUNS) == counts(success=2, other=1)
    assert value(result, RED) == 0.0


def test_the_window_starts_exactly_lookback_days_before_the_refresh_and_the_list_is_asked_without_a_date(
    fake: FakeGitHub, wire: Wiring
) -> None:
    runs = [
        run(1, "failure", minutes_ago=7 * DAY),  # at the window's start: in
        run(2, "failure", minutes_ago=7 * DAY + 1),  # a minute before it: out, though GitHub lists it
    ]
    fake.add_repo(repo(runs=runs))
    result = wire(**FLOW_ON).refresher()
    assert value(result, RUNS) == counts(failure=1)
    assert value(result, RED) == 7 * DAY * 60.0
    (asked,) = [r for r in fake.requests if r.path == WINDOW_RUNS]
    # no date in the URL: a conditional request on it stays valid from one day to the next
    assert asked.query == {"branch": "main", "status": "completed", "per_page": "100"}


def test_runs_over_several_pages_are_all_counted(fake: FakeGitHub, wire: Wiring) -> None:
    runs = [run(n, "success" if n % 3 else "failure", minutes_ago=30 + n * 60) for n in range(1, 151)]
    fake.add_repo(repo(runs=runs))
    result = wire(**FLOW_ON).refresher()
    assert value(result, RUNS) == counts(success=100, failure=50)
    assert fake.count("/actions/workflows/checks.yml/runs") == 2  # the second page through its Link


# --- flaky runs and durations ----------------------------------------------------------------


def flaky(run_id: int, earlier: list[str | None], minutes_ago: int = 60) -> object:
    """A run that succeeded on attempt len(earlier) + 1 after attempts that concluded `earlier` (oldest first)."""
    return run(run_id, "success", minutes_ago=minutes_ago, run_attempt=len(earlier) + 1, earlier_conclusions=earlier)


def test_a_run_that_passed_only_on_a_rerun_after_a_failure_is_flaky_and_a_rerun_after_a_cancel_is_not(
    fake: FakeGitHub, wire: Wiring
) -> None:
    runs = [
        flaky(1, ["failure"]),
        flaky(2, ["cancelled"], minutes_ago=90),
        flaky(3, ["timed_out", "cancelled"], minutes_ago=120),  # attempt 3 passed; attempt 1 had timed out
        run(4, "failure", run_attempt=2, minutes_ago=150),  # re-run and failed again: red, not flaky
        run(5, "success", minutes_ago=180),
    ]
    fake.add_repo(repo(runs=runs))
    result = wire(**FLOW_ON).refresher()
    assert value(result, FLAKY) == 2.0
    attempts = sorted(r.path.split("/runs/")[1] for r in fake.requests if "/attempts/" in r.path)
    assert attempts == ["1/attempts/1", "2/attempts/1", "3/attempts/1", "3/attempts/2"]


def test_a_finished_attempt_is_read_once_then_kept_so_a_second_refresh_asks_nothing_for_it(
    fake: FakeGitHub, wire: Wiring
) -> None:
    fake.add_repo(repo(runs=[flaky(1, ["failure"])]))
    exporter = wire(**FLOW_ON)
    assert value(exporter.refresher(), FLAKY) == 1.0
    fake.clear_requests()
    points = fake.points_used
    assert value(exporter.refresher(), FLAKY) == 1.0
    assert fake.count("/attempts/") == 0
    assert fake.points_used == points  # the lists answer 304: nothing new costs nothing


def test_a_rerun_is_timed_by_its_latest_attempt_only(fake: FakeGitHub, wire: Wiring) -> None:
    rerun = run(
        1,
        "success",
        minutes_ago=60,
        run_attempt=2,
        earlier_conclusions=["failure"],
        durations=[timedelta(minutes=5), timedelta(minutes=12)],
        rerun_delay=timedelta(minutes=4),
    )
    fake.add_repo(repo(runs=[rerun]))
    assert value(wire(**FLOW_ON).refresher(), DURATION) == {"50": 720.0, "90": 720.0}


def test_durations_are_of_successful_runs_only_with_percentiles_between_ranks(fake: FakeGitHub, wire: Wiring) -> None:
    runs = [run(n, "success", minutes_ago=n * 60, durations=[timedelta(minutes=10 * n)]) for n in range(1, 6)]
    runs.append(run(9, "failure", minutes_ago=30, durations=[timedelta(minutes=90)]))
    fake.add_repo(repo(runs=runs))
    assert value(wire(**FLOW_ON).refresher(), DURATION) == {"50": 1800.0, "90": 2760.0}  # 30 min; 40 + 0.6 x 10


# --- failures ------------------------------------------------------------------------------


def test_an_unknown_workflow_fails_every_ci_flow_metric_not_found(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(1)]))
    result = wire(EXPORTER_CI_WORKFLOW="nope.yml", **FLOW_ON).refresher()
    for key in ("ci.tests_passing_on_main", *CI_FLOW):
        found = series(result, key)
        assert (found.ok, found.reason) == (False, "not_found"), key
        assert "workflow nope.yml (EXPORTER_CI_WORKFLOW) not found" in (found.error or "")


# --- cost: the newest run read off the window, today's requests with the flow metrics off --------


def test_with_the_flow_metrics_disabled_a_refresh_makes_exactly_todays_requests(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(1)], commits=[commit(1, "hotfix")]))
    wire(EXPORTER_METRICS_DISABLED=later_metrics()).refresher()
    # The run's jobs are read only for EXPORTER_CI_REQUIRED_JOBS
    assert [(r.path.rsplit("/", 1)[-1], r.query.get("per_page")) for r in fake.requests] == [
        ("runs", "100"),
        ("commits", "100"),
    ]


def test_with_the_ci_flow_on_the_newest_run_is_read_off_the_windows_list_without_a_request_of_its_own(
    fake: FakeGitHub, wire: Wiring
) -> None:
    fake.add_repo(repo(runs=[run(2, "failure", minutes_ago=5), run(1, "success", minutes_ago=60)]))
    result = wire(**FLOW_ON).refresher()
    assert value(result, "ci.tests_passing_on_main") == 0.0
    assert fake.count(WINDOW_RUNS) == 1
    assert fake.count("/jobs") == 0  # the failed run's conclusion decides: its jobs are not read


@pytest.mark.parametrize(
    "runs",
    [
        [run(2, "success", minutes_ago=5), run(1, "failure", minutes_ago=60)],
        [run(3, "cancelled", minutes_ago=5), run(2, "failure", minutes_ago=6), run(1, "success", minutes_ago=7)],
        [run(2, "success", event="pull_request", minutes_ago=5), run(1, "failure", minutes_ago=60)],
        [run(1, "success", minutes_ago=9 * DAY)],  # before the window: asked as before
        [],
        [run(1, "success", jobs=[FakeJob("lint"), FakeJob("tests", "failure")])],
    ],
    ids=["green", "red under a cancel", "a PR run on top", "older than the window", "no run", "a failed job"],
)
def test_tests_passing_on_main_reads_the_same_with_the_ci_flow_on_or_off(
    fake: FakeGitHub, wire: Wiring, runs: list[object]
) -> None:
    fake.add_repo(repo(runs=runs))  # type: ignore[arg-type]
    on = wire(EXPORTER_CI_REQUIRED_JOBS="tests", **FLOW_ON).refresher()
    off = wire(EXPORTER_CI_REQUIRED_JOBS="tests").refresher()
    assert value(on, "ci.tests_passing_on_main") == value(off, "ci.tests_passing_on_main")


def test_more_than_a_hundred_other_runs_on_top_still_mean_no_data_for_tests_passing_on_main(
    fake: FakeGitHub, wire: Wiring
) -> None:
    runs = [run(n, "success", event="pull_request", minutes_ago=n) for n in range(1, MAX_RUNS_READ + 1)]
    runs.append(run(999, "success", minutes_ago=MAX_RUNS_READ + 5))
    fake.add_repo(repo(runs=runs))
    on = wire(**FLOW_ON).refresher()
    assert value(on, "ci.tests_passing_on_main") is None  # as before: the newest hundred hold no counted run
    assert value(on, RUNS) == counts(success=1)
