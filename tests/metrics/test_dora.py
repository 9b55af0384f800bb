"""The four DORA keys, computed through PyGithub from the fake GitHub's deployments, runs and releases."""

from __future__ import annotations

import statistics
from datetime import timedelta

import pytest

from exporter.demo import FakeGitHub, FakeRepo, Fault
from exporter.demo.model import FakeDeployment, FakeDeploymentStatus, FakeRelease, FakeRun
from exporter.metrics.percentiles import percentiles
from tests.conftest import NOW, REPO, Wiring, commit
from tests.helpers import series, value

DORA = ("dora.deployments", "dora.lead_time_seconds", "dora.change_failure_rate", "dora.time_to_restore_seconds")
DAY = 86_400
TEN_MINUTES = timedelta(minutes=10)


def sha(n: int) -> str:
    """The SHA of `commit(n, ...)`."""
    return f"{n:040x}"


def history(count: int, spacing_days: float, messages: dict[int, str] | None = None) -> list:  # type: ignore[type-arg]
    """Commits 1..count on main, commit n made n * spacing_days before NOW."""
    return [commit(n, (messages or {}).get(n, f"change {n}"), days_ago=n * spacing_days) for n in range(1, count + 1)]


def deployed(
    number: int, commit_number: int, days_ago: float, outcome: str | None = "success", environment: str = "production"
) -> FakeDeployment:
    """A deployment of commit `commit_number` created `days_ago`, ending in `outcome` 10 minutes later
    (None: still in progress)."""
    started = NOW - timedelta(days=days_ago)
    statuses = [FakeDeploymentStatus("queued", started), FakeDeploymentStatus("in_progress", started)]
    if outcome is not None:
        statuses.append(FakeDeploymentStatus(outcome, started + TEN_MINUTES))
    return FakeDeployment(number, sha(commit_number), started, environment=environment, statuses=statuses)


def dora_repo(commits: list, deployments: list[FakeDeployment], name: str = REPO, **fields: object) -> FakeRepo:  # type: ignore[type-arg]
    return FakeRepo(name, commits={"main": commits}, deployments=deployments, **fields)  # type: ignore[arg-type]


def refresh(wire: Wiring, **env: str):  # type: ignore[no-untyped-def]
    return wire(EXPORTER_METRICS_DISABLED="", **env).refresher()


def test_a_repository_without_any_deployment_has_no_dora_data_not_zeros(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(dora_repo(history(5, 0.5), [deployed(1, 2, 0.9, environment="staging")]))
    result = refresh(wire)
    assert {key: value(result, key) for key in DORA} == dict.fromkeys(DORA)
    assert fake.count("/deployments") == 1  # the list, filtered to production: empty
    assert fake.requests[-1].query["environment"] == "production"


def test_lead_time_takes_the_commits_between_two_deployments_from_the_window_commit_list(
    fake: FakeGitHub, wire: Wiring
) -> None:
    # Commit n is n * 0.1 days old; the deployment of 3 follows the one of 8, so it ships 3..7.
    fake.add_repo(dora_repo(history(10, 0.1), [deployed(1, 8, 0.75), deployed(2, 3, 0.25)]))
    result = refresh(wire)
    finished = 0.25 * DAY - 600
    leads = [k * 0.1 * DAY - finished for k in range(3, 8)]
    assert value(result, "dora.deployments") == 2.0  # the first has no earlier success: it ships nothing we know
    got = value(result, "dora.lead_time_seconds")
    assert got == {"50": pytest.approx(statistics.median(leads)), "90": pytest.approx(leads[3] + 0.6 * 0.1 * DAY)}
    assert fake.count("/compare/") == 0
    assert value(result, "dora.change_failure_rate") == 0.0
    assert value(result, "dora.time_to_restore_seconds") is None  # nothing failed: no data, not 0


def test_a_previous_deployment_older_than_the_window_is_compared_once_and_kept(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(dora_repo(history(90, 0.1), [deployed(1, 80, 7.9), deployed(2, 3, 0.25)]))
    exporter = wire(EXPORTER_METRICS_DISABLED="")
    result = exporter.refresher()
    finished = 0.25 * DAY - 600
    leads = [k * 0.1 * DAY - finished for k in range(3, 80)]  # 3..79: reachable from 3, not from 80
    assert value(result, "dora.lead_time_seconds") == {
        "50": pytest.approx(statistics.median(leads)),
        "90": pytest.approx(percentiles(leads)["90"]),
    }
    assert value(result, "dora.deployments") == 1.0  # the one before the window only says where 3 starts
    assert [r.path for r in fake.requests if "/compare/" in r.path] == [f"/repos/{REPO}/compare/{sha(80)}...{sha(3)}"]
    fake.clear_requests()
    assert value(exporter.refresher(), "dora.lead_time_seconds") == value(result, "dora.lead_time_seconds")
    assert fake.count("/compare/") == 0  # two SHAs always compare the same: a fact


def test_a_failed_deployment_and_a_remediated_one_count_as_failures_and_are_restored_by_the_next_success(
    fake: FakeGitHub, wire: Wiring
) -> None:
    commits = history(20, 0.25, {5: 'Revert "Cache policy checkpoints"'})
    deployments = [
        deployed(1, 18, 4.4),
        deployed(2, 14, 3.4, "failure"),
        deployed(3, 12, 2.9),  # restores 2 after half a day
        deployed(4, 8, 1.9),  # remediated: the next one ships the revert at 5
        deployed(5, 4, 0.9),  # restores 4 after a day
        deployed(6, 1, 0.1, None),  # still rolling out: not counted
    ]
    fake.add_repo(dora_repo(commits, deployments))
    result = refresh(wire)
    assert value(result, "dora.deployments") == 4.0
    assert value(result, "dora.change_failure_rate") == pytest.approx(2 / 5)
    assert value(result, "dora.time_to_restore_seconds") == {"50": pytest.approx((0.5 * DAY + DAY) / 2)}


def test_a_hotfix_shipped_next_also_remediates_but_a_merge_commit_naming_one_does_not(
    fake: FakeGitHub, wire: Wiring
) -> None:
    commits = history(10, 0.25)
    commits[2] = commit(3, "Merge pull request #9 from org/hotfix-login", days_ago=0.75, parents=2)
    fake.add_repo(dora_repo(commits, [deployed(1, 8, 2.0), deployed(2, 5, 1.2), deployed(3, 2, 0.4)]))
    assert value(refresh(wire), "dora.change_failure_rate") == 0.0
    fake.repo(REPO).commits["main"][3] = commit(4, "HOTFIX: restore login", days_ago=1.0)
    assert value(refresh(wire), "dora.change_failure_rate") == pytest.approx(1 / 3)


def test_a_failure_not_restored_yet_counts_in_the_failure_rate_but_has_no_time_to_restore(
    fake: FakeGitHub, wire: Wiring
) -> None:
    deployments = [deployed(1, 9, 2.0), deployed(2, 6, 1.0, "failure"), deployed(3, 3, 0.5, "error")]
    fake.add_repo(dora_repo(history(10, 0.25), deployments))  # a red streak that is still open
    result = refresh(wire)
    assert value(result, "dora.change_failure_rate") == pytest.approx(2 / 3)
    assert value(result, "dora.time_to_restore_seconds") is None
    assert value(result, "dora.deployments") == 1.0


def test_only_deployments_created_inside_the_window_count(fake: FakeGitHub, wire: Wiring) -> None:
    week = 7.0
    minute = 1 / 1440
    deployments = [deployed(1, 40, week + minute), deployed(2, 39, week - minute), deployed(3, 2, 0.1, "failure")]
    fake.add_repo(dora_repo(history(40, 0.2), deployments))
    result = refresh(wire)
    assert value(result, "dora.deployments") == 1.0
    assert value(result, "dora.change_failure_rate") == pytest.approx(1 / 2)
    assert value(refresh(wire, EXPORTER_LOOKBACK_DAYS="8"), "dora.deployments") == 2.0


def test_deployments_older_than_the_window_only_give_zero_deployments_and_no_rate(
    fake: FakeGitHub, wire: Wiring
) -> None:
    fake.add_repo(dora_repo(history(5, 3.0), [deployed(1, 4, 12.0), deployed(2, 3, 9.0)]))
    result = refresh(wire)
    assert value(result, "dora.deployments") == 0.0  # the environment exists and nothing shipped this week
    assert [value(result, key) for key in DORA[1:]] == [None, None, None]
    assert fake.count("/statuses") == 1  # the newest older one succeeded: no need to read further back


def test_every_page_of_deployments_is_read_and_an_older_success_marked_inactive_still_counts(
    fake: FakeGitHub, wire: Wiring
) -> None:
    deployments = [deployed(n, 130 - n + 1, n * 0.05) for n in range(1, 131)]
    for older in deployments[1:]:  # GitHub marks each superseded successful deployment inactive
        older.statuses.append(FakeDeploymentStatus("inactive", NOW))
    fake.add_repo(dora_repo(history(131, 0.05), deployments))
    result = refresh(wire)
    assert value(result, "dora.deployments") == 130.0
    pages = [r.query.get("page", "1") for r in fake.requests if r.path.endswith("/deployments")]
    assert pages == ["1", "2"]


def test_a_deployments_answer_lacking_what_the_metrics_read_fails_the_dora_series_only(
    fake: FakeGitHub, wire: Wiring
) -> None:
    fake.add_repo(dora_repo(history(5, 0.5), [deployed(1, 2, 0.9)]))
    fake.inject(Fault("missing_fields", path_regex=r"/deployments$"))  # no created_at
    result = refresh(wire)
    assert {series(result, key).reason for key in DORA} == {"bad_response"}
    assert value(result, "commits.hotfix") == 0.0


# --- a deploy workflow's runs --------------------------------------------------------------


def deploy_run(run_id: int, commit_number: int, days_ago: float, conclusion: str | None, **fields: object) -> FakeRun:
    return FakeRun(
        id=run_id,
        conclusion=conclusion,
        workflow_file="deploy.yml",
        head_sha=sha(commit_number),
        created_at=NOW - timedelta(days=days_ago),
        durations=[TEN_MINUTES],
        **fields,  # type: ignore[arg-type]
    )


def test_a_deploy_workflow_counts_its_branch_runs_with_a_re_run_counted_by_its_latest_attempt(
    fake: FakeGitHub, wire: Wiring
) -> None:
    runs = [
        deploy_run(1, 38, 9.5, "success"),  # the previous success, before the window: found by a second list
        deploy_run(2, 30, 6.0, "failure"),
        deploy_run(3, 24, 5.0, "success", run_attempt=2, earlier_conclusions=["failure"]),
        deploy_run(4, 20, 4.0, "cancelled"),
        deploy_run(5, 12, 3.0, "timed_out"),
        deploy_run(6, 8, 2.0, "success", event="pull_request", head_branch="main"),  # a fork's main: not a deploy
        deploy_run(7, 6, 1.0, "success", event="workflow_dispatch"),
        deploy_run(8, 2, 0.2, None, status="in_progress"),
    ]
    fake.add_repo(dora_repo(history(40, 0.25), [], workflows=["checks.yml", "deploy.yml"], runs=runs))
    result = refresh(wire, EXPORTER_DEPLOY_SOURCE="workflow:deploy.yml")
    assert value(result, "dora.deployments") == 2.0
    assert value(result, "dora.change_failure_rate") == pytest.approx(2 / 4)
    restore = [(6.0 - 5.0) * DAY + 7 * 60, (3.0 - 1.0) * DAY]  # 3 ended after its 7-minute second attempt
    assert value(result, "dora.time_to_restore_seconds") == {"50": pytest.approx(statistics.median(restore))}
    asked = [r.query for r in fake.requests if r.path.endswith("/deploy.yml/runs")]
    assert [q.get("created") for q in asked] == [">=2026-11-13", "<2026-11-13"]
    assert fake.count("/deployments") == 0
    lead = value(result, "dora.lead_time_seconds")
    assert lead is not None and fake.count("/compare/") == 1  # from the success before the window


def test_an_unknown_deploy_workflow_gives_no_data_and_no_failure(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(dora_repo(history(5, 0.5), [deployed(1, 2, 0.9)]))
    result = refresh(wire, EXPORTER_DEPLOY_SOURCE="workflow:deploy.yml")
    assert {key: value(result, key) for key in DORA} == dict.fromkeys(DORA)


# --- releases ------------------------------------------------------------------------------


def release(tag: str, commit_number: int, days_ago: float, **fields: object) -> FakeRelease:
    moment = NOW - timedelta(days=days_ago)
    return FakeRelease(tag, created_at=moment, published_at=moment, sha=sha(commit_number), **fields)  # type: ignore[arg-type]


def test_published_releases_are_deployments_compared_by_tag_and_fail_only_by_remediation(
    fake: FakeGitHub, wire: Wiring
) -> None:
    commits = history(40, 0.25, {6: "hotfix: restore the upload"})
    releases = [
        release("v1.0.0", 36, 8.5),
        release("v1.1.0", 16, 3.5),
        release("v1.2.0-rc.1", 10, 2.0, prerelease=True),
        release("v1.2.0", 4, 0.5),  # ships the hotfix at 6: v1.1.0 is remediated
        FakeRelease("v1.3.0", created_at=NOW - timedelta(hours=2), draft=True),
    ]
    fake.add_repo(dora_repo(commits, [], releases=releases))
    result = refresh(wire, EXPORTER_DEPLOY_SOURCE="releases")
    assert value(result, "dora.deployments") == 2.0
    assert value(result, "dora.change_failure_rate") == pytest.approx(1 / 2)
    assert value(result, "dora.time_to_restore_seconds") == {"50": pytest.approx(3.0 * DAY)}
    leads = [k * 0.25 * DAY - 3.5 * DAY for k in range(16, 36)] + [k * 0.25 * DAY - 0.5 * DAY for k in range(4, 16)]
    assert value(result, "dora.lead_time_seconds") == {
        "50": pytest.approx(statistics.median(leads)),
        "90": pytest.approx(percentiles(leads)["90"]),
    }
    compared = sorted(r.path.rsplit("/", 1)[-1] for r in fake.requests if "/compare/" in r.path)
    assert compared == ["v1.0.0...v1.1.0", "v1.1.0...v1.2.0"]


def test_a_repository_may_take_its_deployments_from_another_source_than_the_others(
    fake: FakeGitHub, wire: Wiring
) -> None:
    fake.add_repo(dora_repo(history(10, 0.5), [deployed(1, 8, 3.9), deployed(2, 3, 1.4)]))
    fake.add_repo(dora_repo(history(10, 0.5), [], name="octo/lib", releases=[release("v1", 5, 2.4)]))
    result = refresh(wire, EXPORTER_REPOS=f"{REPO},octo/lib", EXPORTER_DEPLOY_SOURCES="Octo/Lib = releases")
    assert (value(result, "dora.deployments"), value(result, "dora.deployments", "octo/lib")) == (2.0, 1.0)
    assert fake.count("/repos/octo/lib/deployments") == 0 and fake.count(f"/repos/{REPO}/releases") == 0


def test_a_percentile_interpolates_between_ranks_and_one_sample_is_every_percentile() -> None:
    assert percentiles([7.0]) == {"50": 7.0, "90": 7.0}
    assert percentiles([4.0, 1.0, 3.0, 2.0], ("50",)) == {"50": 2.5}
    assert percentiles([1.0, 2.0, 3.0, 4.0, 5.0])["90"] == pytest.approx(4.6)
    assert percentiles([]) == {}
