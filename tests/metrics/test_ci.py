"""ci.tests_passing_on_main, computed through PyGithub from the fake GitHub."""

from __future__ import annotations

import logging

import pytest

from exporter.demo import FakeGitHub, FakeJob, Fault
from tests.clocked import Clock, ClockedExporter
from tests.conftest import REPO, Wiring, repo, run
from tests.helpers import series, value

KEY = "ci.tests_passing_on_main"
GAUGE, LABELS = "ci_tests_passing_on_main", {"repo": REPO, "branch": "main", "workflow": "checks.yml"}
HEALTH = {"repo": REPO, "metric": KEY}
# No retries, and a refresh on each scrape once the test clock moved (TTL 1 s on that clock).
FAST = {"EXPORTER_GITHUB_RETRIES": "0", "EXPORTER_CACHE_TTL_SECONDS": "1", "EXPORTER_SCRAPE_WAIT_SECONDS": "30"}


def test_newest_successful_run_with_successful_jobs_is_passing(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(2, "success", minutes_ago=5), run(1, "failure", minutes_ago=60)]))
    assert value(wire().refresher(), KEY) == 1.0


def test_newest_failed_run_is_failing_even_after_older_successes(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(2, "failure", minutes_ago=5), run(1, "success", minutes_ago=60)]))
    assert value(wire().refresher(), KEY) == 0.0


def test_a_job_allowed_to_fail_does_not_fail_a_successful_run_unless_it_is_required(
    fake: FakeGitHub, wire: Wiring
) -> None:
    # GitHub concludes a run `success` with a failed job only when the job has `continue-on-error`.
    jobs = [FakeJob("lint"), FakeJob("tests"), FakeJob("nightly-python", conclusion="failure")]
    fake.add_repo(repo(runs=[run(1, "success", jobs=jobs)]))
    assert value(wire().refresher(), KEY) == 1.0
    assert value(wire(EXPORTER_CI_REQUIRED_JOBS="tests").refresher(), KEY) == 1.0
    assert value(wire(EXPORTER_CI_REQUIRED_JOBS="tests,nightly-python").refresher(), KEY) == 0.0


def test_skipped_and_neutral_jobs_still_pass(fake: FakeGitHub, wire: Wiring) -> None:
    jobs = [FakeJob("lint", conclusion="skipped"), FakeJob("tests", conclusion="neutral"), FakeJob("build")]
    fake.add_repo(repo(runs=[run(1, "success", jobs=jobs)]))
    # A required job makes the refresh read the jobs (without one, the run's conclusion alone decides)
    assert value(wire(EXPORTER_CI_REQUIRED_JOBS="build").refresher(), KEY) == 1.0
    assert fake.count("/jobs") == 1


def test_cancelled_skipped_and_stale_newest_runs_are_passed_over(fake: FakeGitHub, wire: Wiring) -> None:
    runs = [
        run(5, "cancelled", minutes_ago=1),
        run(4, "stale", minutes_ago=2),
        run(3, "skipped", minutes_ago=3),
        run(2, "failure", minutes_ago=4),
        run(1, "success", minutes_ago=5),
    ]
    fake.add_repo(repo(runs=runs))
    assert value(wire().refresher(), KEY) == 0.0


def test_a_rerun_is_judged_by_the_jobs_of_its_latest_attempt(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(7, "success", run_attempt=2, event="schedule")]))
    exporter = wire(EXPORTER_CI_REQUIRED_JOBS="tests")  # the run's jobs are read only for required jobs
    assert value(exporter.refresher(), KEY) == 1.0
    assert [r.query.get("filter") for r in fake.requests if r.path.endswith("/jobs")] == ["latest"]


def test_a_runs_jobs_are_asked_only_for_required_jobs_once_for_a_successful_run_and_never_for_a_failed_one(
    fake: FakeGitHub, wire: Wiring
) -> None:
    fake.add_repo(repo(runs=[run(1)]))
    assert value(wire().refresher(), KEY) == 1.0
    assert fake.count("/jobs") == 0  # without required jobs the run's conclusion decides: no request for them

    exporter = wire(EXPORTER_CI_REQUIRED_JOBS="tests")
    assert value(exporter.refresher(), KEY) == 1.0
    assert fake.count(f"/repos/{REPO}/actions/runs/1/jobs") == 1
    assert value(exporter.refresher(), KEY) == 1.0
    assert fake.count("/jobs") == 1  # a second refresh asks none: a completed attempt's jobs are a fact

    fake.repo(REPO).runs.append(run(2, "failure", minutes_ago=1))
    assert value(exporter.refresher(), KEY) == 0.0
    assert fake.count("/jobs") == 1  # a failed run's conclusion already decides: its jobs are not asked

    fake.repo(REPO).runs.append(run(3, minutes_ago=0))
    assert value(exporter.refresher(), KEY) == 1.0
    assert fake.count(f"/repos/{REPO}/actions/runs/3/jobs") == 1 and fake.count("/jobs") == 2


def test_an_in_progress_newest_run_is_ignored_for_the_newest_completed_one(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(2, None, status="in_progress", minutes_ago=1), run(1, "failure")]))
    assert value(wire().refresher(), KEY) == 0.0


def test_timed_out_startup_failure_and_action_required_are_failing(fake: FakeGitHub, wire: Wiring) -> None:
    for conclusion in ("timed_out", "startup_failure", "action_required"):
        fake.repos.clear()
        fake.add_repo(repo(runs=[run(1, conclusion)]))
        assert value(wire().refresher(), KEY) == 0.0, conclusion


def test_runs_on_other_branches_do_not_count(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(2, "failure", head_branch="feature", minutes_ago=1), run(1, "success")]))
    assert value(wire().refresher(), KEY) == 1.0


def test_no_run_at_all_is_no_data_not_a_failure(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[]))
    result = wire().refresher()
    assert series(result, KEY).ok
    assert value(result, KEY) is None


def test_only_cancelled_runs_is_no_data(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(1, "cancelled")]))
    assert value(wire().refresher(), KEY) is None


def test_an_unknown_workflow_fails_not_found_naming_the_workflows_the_repository_has(
    fake: FakeGitHub, wire: Wiring, caplog: pytest.LogCaptureFixture
) -> None:
    fake.add_repo(repo(runs=[run(1, "success")]))
    fake.repo(REPO).workflows.append("release.yml")
    with caplog.at_level(logging.WARNING):
        result = wire(EXPORTER_CI_WORKFLOW="check.yml").refresher()
    found = series(result, KEY)
    assert (found.ok, found.reason, found.value) == (False, "not_found", None)
    assert found.error == (
        "workflow check.yml (EXPORTER_CI_WORKFLOW) not found in octo/app; its workflows: checks.yml, release.yml"
    )
    assert found.error in caplog.text
    assert "test-token" not in caplog.text
    assert value(result, "commits.hotfix") == 0.0


def test_an_unknown_repository_fails_not_found_with_a_message_of_its_own(fake: FakeGitHub, wire: Wiring) -> None:
    result = wire(EXPORTER_REPOS="octo/missing").refresher()
    found = series(result, KEY, "octo/missing")
    assert (found.ok, found.reason, found.value) == (False, "not_found", None)
    assert found.error == "repository octo/missing (EXPORTER_REPOS) not found: unknown, or not visible to the token"


def test_a_404_on_the_runs_of_a_known_workflow_keeps_the_last_value_fails_visibly_and_recovers(
    fake: FakeGitHub, caplog: pytest.LogCaptureFixture
) -> None:
    fake.add_repo(repo(runs=[run(1, "success")]))
    clock = Clock()
    exporter = ClockedExporter(fake, clock, **FAST)
    try:
        assert exporter.scrape().value(GAUGE, **LABELS) == 1.0
        fake.inject(Fault(kind="not_found", path_regex=r"/actions/workflows/checks\.yml/runs$", times=1))
        clock.advance(60)
        with caplog.at_level(logging.WARNING):
            faulted = exporter.scrape()
        assert faulted.value(GAUGE, **LABELS) == 1.0
        assert faulted.value("system_health_exporter_metric_success", **HEALTH) == 0.0
        assert faulted.value("system_health_exporter_refresh_errors_total", reason="not_found", **HEALTH) == 1.0
        assert faulted.value("system_health_exporter_metric_value_age_seconds", **HEALTH) == 60.0
        assert "GitHub answered 404 for the runs of checks.yml in octo/app, which lists it" in caplog.text
        clock.advance(60)
        recovered = exporter.scrape()
        assert recovered.value(GAUGE, **LABELS) == 1.0
        assert recovered.value("system_health_exporter_metric_success", **HEALTH) == 1.0
        assert recovered.value("system_health_exporter_metric_value_age_seconds", **HEALTH) == 0.0
    finally:
        exporter.close()


# --- which runs are the branch's -----------------------------------------------------------------


@pytest.mark.parametrize("event", ["push", "schedule", "workflow_dispatch"])
def test_a_push_schedule_or_manual_run_on_the_branch_counts_over_newer_pull_request_runs(
    fake: FakeGitHub, wire: Wiring, event: str
) -> None:
    runs = [
        run(3, "failure", event="pull_request", minutes_ago=1),
        run(2, "success", event=event, minutes_ago=2),
        run(1, "failure", event="push", minutes_ago=3),
    ]
    fake.add_repo(repo(runs=runs))
    assert value(wire().refresher(), KEY) == 1.0


@pytest.mark.parametrize(
    "event", ["pull_request", "pull_request_target", "merge_group", "workflow_run", "repository_dispatch"]
)
def test_a_run_of_another_event_on_the_branch_does_not_count(fake: FakeGitHub, wire: Wiring, event: str) -> None:
    # merge_group runs live on gh-readonly-queue/main/... (the branch filter drops them); the event filter would too.
    fake.add_repo(repo(runs=[run(2, "failure", event=event, minutes_ago=1), run(1, "success", minutes_ago=5)]))
    assert value(wire().refresher(), KEY) == 1.0


def test_a_forks_pull_request_from_its_own_main_is_not_ci_on_main(fake: FakeGitHub, wire: Wiring) -> None:
    fork_pr = run(2, "failure", event="pull_request", head_repository="someone/app", minutes_ago=1)
    fake.add_repo(repo(runs=[fork_pr, run(1, "success", minutes_ago=5)]))
    exporter = wire()
    assert value(exporter.refresher(), KEY) == 1.0
    (runs,) = [r for r in fake.requests if r.path.endswith("/runs")]
    assert runs.query["branch"] == "main"  # GitHub's filter matched the fork's branch: ours dropped it
    assert fake.count(f"/actions/runs/{fork_pr.id}/") == 0


def test_at_most_the_newest_hundred_runs_are_looked_through_then_no_data_is_logged(
    fake: FakeGitHub, wire: Wiring, caplog: pytest.LogCaptureFixture
) -> None:
    others = [run(1000 + n, "failure", event="pull_request", minutes_ago=n) for n in range(1, 100)]
    fake.add_repo(repo(runs=[*others, run(1, "success", minutes_ago=500)]))
    assert value(wire().refresher(), KEY) == 1.0  # the 100th run is still read
    fake.repo(REPO).runs.append(run(999, "failure", event="pull_request", minutes_ago=0))
    fake.clear_requests()
    with caplog.at_level(logging.WARNING):
        result = wire().refresher()
    assert series(result, KEY).ok
    assert value(result, KEY) is None
    assert fake.count("/actions/workflows/checks.yml/runs") == 2  # pages of 100: the window reaches past the first
    assert "none of the newest 100 completed runs of checks.yml on main" in caplog.text


def test_a_missing_required_job_is_failing(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(1, "success", jobs=[FakeJob("lint"), FakeJob("tests")])]))
    assert value(wire(EXPORTER_CI_REQUIRED_JOBS="tests,e2e").refresher(), KEY) == 0.0


def test_a_required_job_must_succeed_not_just_be_skipped(fake: FakeGitHub, wire: Wiring) -> None:
    jobs = [FakeJob("lint"), FakeJob("Tests", conclusion="skipped")]
    fake.add_repo(repo(runs=[run(1, "success", jobs=jobs)]))
    assert value(wire().refresher(), KEY) == 1.0
    assert value(wire(EXPORTER_CI_REQUIRED_JOBS="tests").refresher(), KEY) == 0.0


def test_required_jobs_match_case_insensitively(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(1, "success", jobs=[FakeJob("Unit Tests"), FakeJob("LINT")])]))
    assert value(wire(EXPORTER_CI_REQUIRED_JOBS="unit tests, lint").refresher(), KEY) == 1.0
