"""ci.tests_passing_on_main, computed through PyGithub from the fake GitHub."""

from __future__ import annotations

from exporter.demo import FakeGitHub, FakeJob
from tests.conftest import Wiring, repo, run
from tests.helpers import series, value

KEY = "ci.tests_passing_on_main"


def test_newest_successful_run_with_successful_jobs_is_passing(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(2, "success", minutes_ago=5), run(1, "failure", minutes_ago=60)]))
    assert value(wire().refresher(), KEY) == 1.0


def test_newest_failed_run_is_failing_even_after_older_successes(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(2, "failure", minutes_ago=5), run(1, "success", minutes_ago=60)]))
    assert value(wire().refresher(), KEY) == 0.0


def test_a_failed_job_in_a_successful_looking_run_is_failing(fake: FakeGitHub, wire: Wiring) -> None:
    jobs = [FakeJob("lint"), FakeJob("tests", conclusion="failure")]
    fake.add_repo(repo(runs=[run(1, "success", jobs=jobs)]))
    assert value(wire().refresher(), KEY) == 0.0


def test_skipped_and_neutral_jobs_still_pass(fake: FakeGitHub, wire: Wiring) -> None:
    jobs = [FakeJob("lint", conclusion="skipped"), FakeJob("tests", conclusion="neutral"), FakeJob("build")]
    fake.add_repo(repo(runs=[run(1, "success", jobs=jobs)]))
    assert value(wire().refresher(), KEY) == 1.0


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
    exporter = wire()
    assert value(exporter.refresher(), KEY) == 1.0
    assert any(r.query.get("filter", "latest") == "latest" for r in fake.requests if r.path.endswith("/jobs"))


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


def test_an_unknown_workflow_is_no_data_not_a_failure(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(1, "success")]))
    result = wire(EXPORTER_CI_WORKFLOW="missing.yml").refresher()
    assert value(result, KEY) is None
    assert value(result, "commits.hotfix") == 0.0


def test_an_unknown_repository_is_a_not_found_failure(fake: FakeGitHub, wire: Wiring) -> None:
    result = wire(EXPORTER_REPOS="octo/missing").refresher()
    found = series(result, KEY, "octo/missing")
    assert (found.ok, found.reason, found.value) == (False, "not_found", None)


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
