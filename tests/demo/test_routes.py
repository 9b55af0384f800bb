"""The endpoints behind CI flow, pull-request flow and DORA answer as GitHub's do: filters, order,
run attempts and timings, comparisons, 404s, pagination and conditional requests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from exporter.demo import FakeCommit, FakeGitHub, FakeRepo, FakeRun
from exporter.demo.model import FakeDeployment, FakeDeploymentStatus, FakePull, FakeRelease, stable_sha
from exporter.demo.routes import route
from tests.demo.conftest import NOW

API = "/repos/o/r"
RUNS = f"{API}/actions/workflows/checks.yml/runs"
MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)


def iso(moment: object) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")  # type: ignore[attr-defined]


def history() -> list[FakeCommit]:
    """Ten commits on main, one a day, newest first: sha "0..." is the newest."""
    return [FakeCommit(str(i) * 40, f"Change {i}", NOW - i * DAY) for i in range(10)]


def runs() -> list[FakeRun]:
    return [
        FakeRun(1, "success", created_at=NOW - 3 * DAY, durations=[12 * MINUTE]),
        FakeRun(
            2,
            "success",
            created_at=NOW - 2 * DAY,
            run_attempt=2,
            durations=[5 * MINUTE, 11 * MINUTE],
            rerun_delay=3 * MINUTE,
        ),
        FakeRun(3, "failure", created_at=NOW - 2 * DAY + 5 * HOUR, run_attempt=3, earlier_conclusions=["cancelled"]),
        FakeRun(4, "success", created_at=NOW - HOUR, head_branch="feature"),
    ]


def pulls() -> list[FakePull]:
    return [
        FakePull(1, "Old and quiet", NOW - 60 * DAY, NOW - 40 * DAY, comments=1),
        FakePull(2, "Old but active", NOW - 45 * DAY, NOW - 2 * DAY, comments=9),
        FakePull(3, "Fresh", NOW - 2 * HOUR, comments=4, head_ref="fresh"),
        FakePull(4, "From a fork", NOW - DAY, fork="friend/r", head_ref="patch-1"),
        FakePull(5, "Merged", NOW - 3 * DAY, merged_at=NOW - DAY, merge_commit_sha="0" * 40),
        FakePull(6, "Closed", NOW - 4 * DAY, closed_at=NOW - 3 * DAY),
        FakePull(7, "Backport", NOW - 5 * HOUR, base_ref="release/1.0"),
    ]


def deployments() -> list[FakeDeployment]:
    return [
        FakeDeployment(
            i,
            str(i) * 40,
            NOW - (10 - i) * HOUR,
            environment="staging" if i % 3 == 0 else "production",
            statuses=[
                FakeDeploymentStatus("success", NOW - (10 - i) * HOUR + 5 * MINUTE),
                FakeDeploymentStatus("queued", NOW - (10 - i) * HOUR),
                FakeDeploymentStatus("in_progress", NOW - (10 - i) * HOUR + MINUTE),
            ],
        )
        for i in range(1, 8)
    ]


def releases() -> list[FakeRelease]:
    return [
        FakeRelease("v1.0.0", NOW - 9 * DAY, NOW - 8 * DAY, sha="9" * 40),
        FakeRelease("v1.1.0", NOW - 5 * DAY, NOW - 5 * DAY + HOUR, sha="5" * 40),
        FakeRelease("v1.2.0-rc.1", NOW - 2 * DAY, sha="2" * 40, prerelease=True),
        FakeRelease("v1.2.0", NOW - HOUR, draft=True),
    ]


@pytest.fixture
def repo() -> FakeRepo:
    return FakeRepo(
        "o/r",
        runs=runs(),
        commits={"main": history(), "other": [FakeCommit("f" * 40, "Unrelated", NOW)]},
        pulls=pulls(),
        deployments=deployments(),
        releases=releases(),
    )


@pytest.fixture
def fake(repo: FakeRepo) -> Iterator[FakeGitHub]:
    with FakeGitHub(repos=[repo]) as server:
        yield server


@pytest.fixture
def http(fake: FakeGitHub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake.url, headers={"Authorization": "token t"}, timeout=10) as client:
        yield client


def links(response: httpx.Response) -> dict[str, str]:
    return {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', response.headers.get("Link", ""))}


# --- runs: the created filter, attempts and timings ---------------------------------------------
@pytest.mark.parametrize(
    ("created", "ids"),
    [
        (f">={(NOW - 2 * DAY).date()}", [4, 3, 2]),
        (f">{(NOW - 2 * DAY).date()}", [4]),
        (f"<{(NOW - 2 * DAY).date()}", [1]),
        (f"<={(NOW - 2 * DAY).date()}", [3, 2, 1]),
        (f"{(NOW - 2 * DAY).date()}", [3, 2]),
        (f"{(NOW - 3 * DAY).date()}..{(NOW - 2 * DAY).date()}", [3, 2, 1]),
        (f"*..{(NOW - 3 * DAY).date()}", [1]),
        (f"{iso(NOW - 2 * DAY)}..*", [4, 3, 2]),
        (f">{iso(NOW - 2 * DAY)}", [4, 3]),
        (f"{(NOW - 2 * DAY).isoformat()}..*", [4, 3, 2]),
        ("2026-13-45", []),
        ("2026-02-28T00:00:00 01:00..*", []),  # a `+` sent unencoded arrives as a space
    ],
)
def test_runs_honour_githubs_created_search_syntax(http: httpx.Client, created: str, ids: list[int]) -> None:
    body = http.get(RUNS, params={"created": created}).json()
    assert [run["id"] for run in body["workflow_runs"]] == ids
    assert body["total_count"] == len(ids)


def test_the_created_filter_combines_with_branch_and_status_and_rides_the_link(http: httpx.Client) -> None:
    query = {"created": f">={(NOW - 2 * DAY).date()}", "branch": "main", "status": "completed", "per_page": "1"}
    first = http.get(RUNS, params=query)
    assert [run["id"] for run in first.json()["workflow_runs"]] == [3]
    assert first.json()["total_count"] == 2
    assert "created=%3E%3D" in links(first)["next"]
    second = http.get(links(first)["next"]).json()
    assert [run["id"] for run in second["workflow_runs"]] == [2]


def test_a_run_shows_its_latest_attempts_start_and_end(http: httpx.Client) -> None:
    run = http.get(f"{API}/actions/runs/2").json()
    assert (run["run_attempt"], run["conclusion"], run["created_at"]) == (2, "success", iso(NOW - 2 * DAY))
    assert run["run_started_at"] == iso(NOW - 2 * DAY + 8 * MINUTE)  # 5 minutes, then 3 before the re-run
    assert run["updated_at"] == iso(NOW - 2 * DAY + 19 * MINUTE)
    assert run["previous_attempt_url"].endswith("/actions/runs/2/attempts/1")


def test_an_earlier_attempt_shows_its_own_conclusion_times_and_jobs(http: httpx.Client, fake: FakeGitHub) -> None:
    first = http.get(f"{API}/actions/runs/2/attempts/1").json()
    assert (first["run_attempt"], first["status"], first["conclusion"]) == (1, "completed", "failure")
    assert (first["run_started_at"], first["updated_at"]) == (iso(NOW - 2 * DAY), iso(NOW - 2 * DAY + 5 * MINUTE))
    assert first["previous_attempt_url"] is None
    assert first["jobs_url"] == f"{fake.url}{API}/actions/runs/2/attempts/1/jobs"
    jobs = http.get(first["jobs_url"]).json()["jobs"]
    assert {(job["run_attempt"], job["conclusion"]) for job in jobs} == {(1, "failure")}
    second = http.get(f"{API}/actions/runs/3/attempts/2").json()
    assert (second["conclusion"], second["created_at"]) == ("failure", second["run_started_at"])
    assert http.get(f"{API}/actions/runs/3/attempts/1").json()["conclusion"] == "cancelled"


def test_only_attempts_that_ran_are_served(http: httpx.Client) -> None:
    assert [http.get(f"{API}/actions/runs/2/attempts/{n}").status_code for n in (0, 1, 2, 3)] == [404, 200, 200, 404]
    assert http.get(f"{API}/actions/runs/99/attempts/1").status_code == 404


def test_the_jobs_of_every_attempt_carry_that_attempts_conclusion(http: httpx.Client) -> None:
    jobs = http.get(f"{API}/actions/runs/3/jobs", params={"filter": "all"}).json()["jobs"]
    by_attempt = {(job["run_attempt"], job["conclusion"]) for job in jobs}
    assert by_attempt == {(3, "success"), (2, "failure"), (1, "cancelled")}


# --- pull requests -------------------------------------------------------------------------
def numbers(response: httpx.Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [pull["number"] for pull in response.json()]


def test_pulls_list_open_ones_newest_first_by_default(http: httpx.Client) -> None:
    assert numbers(http.get(f"{API}/pulls")) == [3, 7, 4, 2, 1]
    assert numbers(http.get(f"{API}/pulls", params={"state": "closed"})) == [5, 6]
    assert numbers(http.get(f"{API}/pulls", params={"state": "all", "direction": "asc"})) == [1, 2, 6, 5, 4, 7, 3]


def test_pulls_filter_by_base_and_head(http: httpx.Client) -> None:
    assert numbers(http.get(f"{API}/pulls", params={"base": "release/1.0"})) == [7]
    assert numbers(http.get(f"{API}/pulls", params={"head": "friend:patch-1"})) == [4]
    assert numbers(http.get(f"{API}/pulls", params={"head": "o:fresh"})) == [3]
    assert numbers(http.get(f"{API}/pulls", params={"head": "o:patch-1"})) == []


def test_pulls_sort_by_update_and_popularity_ascending_unless_told(http: httpx.Client) -> None:
    assert numbers(http.get(f"{API}/pulls", params={"sort": "updated"})) == [1, 2, 4, 7, 3]
    assert numbers(http.get(f"{API}/pulls", params={"sort": "popularity", "direction": "desc"})) == [2, 3, 1, 7, 4]


def test_long_running_pulls_are_open_over_a_month_with_activity_within_it(repo: FakeRepo) -> None:
    answer = route([repo], "http://fake", f"{API}/pulls", {"sort": "long-running"}, now=NOW)
    assert [pull["number"] for pull in answer.body] == [2]


def test_pulls_refuse_values_github_does_not_know(http: httpx.Client) -> None:
    for query in ({"state": "merged"}, {"sort": "newest"}, {"direction": "up"}):
        assert http.get(f"{API}/pulls", params=query).status_code == 422


def test_a_pull_shows_its_dates_state_and_where_its_head_lives(http: httpx.Client, repo: FakeRepo) -> None:
    by_number = {pull["number"]: pull for pull in http.get(f"{API}/pulls", params={"state": "all"}).json()}
    merged, closed, fork, own = by_number[5], by_number[6], by_number[4], by_number[3]
    assert (merged["state"], merged["merged_at"], merged["closed_at"]) == ("closed", iso(NOW - DAY), iso(NOW - DAY))
    assert merged["merge_commit_sha"] == "0" * 40
    assert (closed["merged_at"], closed["closed_at"], closed["updated_at"]) == (
        None,
        iso(NOW - 3 * DAY),
        iso(NOW - 3 * DAY),
    )
    assert (fork["head"]["label"], fork["head"]["repo"]["full_name"], fork["head"]["repo"]["fork"]) == (
        "friend:patch-1",
        "friend/r",
        True,
    )
    assert fork["author_association"] == "CONTRIBUTOR"
    assert (own["head"]["repo"]["full_name"], own["head"]["repo"]["fork"], own["base"]["ref"]) == ("o/r", False, "main")
    repo.pulls[3].fork_deleted = True
    assert http.get(f"{API}/pulls", params={"head": "friend:patch-1"}).json()[0]["head"]["repo"] is None


def test_pulls_paginate_with_links_that_keep_the_query(http: httpx.Client, fake: FakeGitHub) -> None:
    first = http.get(f"{API}/pulls", params={"state": "all", "per_page": "3"})
    assert set(links(first)) == {"next", "last"}
    assert links(first)["last"] == f"{fake.url}/repositories/{fake.repo('o/r').id}/pulls?state=all&per_page=3&page=3"
    seen = numbers(first) + numbers(http.get(links(first)["next"])) + numbers(http.get(links(first)["last"]))
    assert sorted(seen) == [1, 2, 3, 4, 5, 6, 7]


# --- deployments and releases --------------------------------------------------------------
def test_deployments_come_newest_first_filtered_by_environment_sha_ref_and_task(http: httpx.Client) -> None:
    ids = [d["id"] for d in http.get(f"{API}/deployments").json()]
    assert ids == [7, 6, 5, 4, 3, 2, 1]
    production = http.get(f"{API}/deployments", params={"environment": "production"}).json()
    assert [d["id"] for d in production] == [7, 5, 4, 2, 1]
    assert {d["production_environment"] for d in production} == {True}
    assert [d["id"] for d in http.get(f"{API}/deployments", params={"sha": "4" * 40}).json()] == [4]
    assert http.get(f"{API}/deployments", params={"ref": "v9"}).json() == []
    assert len(http.get(f"{API}/deployments", params={"task": "deploy", "ref": "main"}).json()) == 7


def test_deployment_statuses_come_newest_first_and_move_the_deployments_updated_at(http: httpx.Client) -> None:
    statuses = http.get(f"{API}/deployments/4/statuses").json()
    assert [s["state"] for s in statuses] == ["success", "in_progress", "queued"]
    deployment = http.get(f"{API}/deployments", params={"sha": "4" * 40}).json()[0]
    assert deployment["updated_at"] == statuses[0]["created_at"] == iso(NOW - 6 * HOUR + 5 * MINUTE)
    assert statuses[0]["deployment_url"] == deployment["url"]
    assert http.get(f"{API}/deployments/99/statuses").status_code == 404


def test_releases_come_newest_first_with_the_draft_flagged_and_undated(http: httpx.Client) -> None:
    body = http.get(f"{API}/releases").json()
    assert [r["tag_name"] for r in body] == ["v1.2.0", "v1.2.0-rc.1", "v1.1.0", "v1.0.0"]
    draft, rc, minor, _ = body
    assert (draft["draft"], draft["published_at"], draft["tarball_url"]) == (True, None, None)
    assert (rc["prerelease"], rc["published_at"]) == (True, iso(NOW - 2 * DAY))
    assert minor["published_at"] == iso(NOW - 5 * DAY + HOUR)


# --- compare -------------------------------------------------------------------------------
def test_compare_lists_the_commits_between_two_shas_oldest_first(http: httpx.Client) -> None:
    body = http.get(f"{API}/compare/{'7' * 40}...{'2' * 40}").json()
    assert (body["status"], body["ahead_by"], body["behind_by"], body["total_commits"]) == ("ahead", 5, 0, 5)
    assert [c["sha"][0] for c in body["commits"]] == ["6", "5", "4", "3", "2"]
    assert body["base_commit"]["sha"] == body["merge_base_commit"]["sha"] == "7" * 40


def test_compare_reads_branches_tags_and_short_shas_and_says_behind_or_identical(http: httpx.Client) -> None:
    tagged = http.get(f"{API}/compare/v1.0.0...main").json()
    assert (tagged["ahead_by"], tagged["commits"][-1]["sha"]) == (9, "0" * 40)
    behind = http.get(f"{API}/compare/v1.2.0-rc.1...5555555").json()
    assert (behind["status"], behind["ahead_by"], behind["behind_by"], behind["commits"]) == ("behind", 0, 3, [])
    assert behind["merge_base_commit"]["sha"] == "5" * 40
    same = http.get(f"{API}/compare/main...{'0' * 40}").json()
    assert (same["status"], same["total_commits"]) == ("identical", 0)


def test_compare_of_unknown_refs_or_unrelated_histories_is_a_404(http: httpx.Client) -> None:
    assert http.get(f"{API}/compare/nope...main").status_code == 404
    assert http.get(f"{API}/compare/v1.2.0...main").status_code == 404  # a draft has no tag yet
    assert http.get(f"{API}/compare/main").status_code == 404
    unrelated = http.get(f"{API}/compare/other...main")
    assert (unrelated.status_code, unrelated.json()["message"]) == (404, "No common ancestor between other and main.")


def test_compare_shows_the_newest_250_commits_unless_paged() -> None:
    commits = [FakeCommit(stable_sha("c", i), f"c{i}", NOW - i * MINUTE) for i in range(300)]
    fake = FakeGitHub(repos=[FakeRepo("o/r", commits={"main": commits})])
    with fake, httpx.Client(base_url=fake.url) as http:
        whole = http.get(f"{API}/compare/{commits[-1].sha}...main").json()
        by_100 = http.get(f"{API}/compare/{commits[-1].sha}...main", params={"per_page": "100", "page": "2"})
        by_default = http.get(f"{API}/compare/{commits[-1].sha}...main", params={"page": "1"})
    assert (whole["total_commits"], len(whole["commits"])) == (299, 250)
    assert whole["commits"][-1]["sha"] == commits[0].sha  # the last is the newest of the comparison
    assert whole["commits"][0]["sha"] == commits[249].sha
    assert by_100.json()["commits"][0]["sha"] == commits[198].sha  # pages run from the oldest
    assert set(links(by_100)) == {"prev", "next", "last", "first"}
    assert [c["sha"] for c in by_default.json()["commits"]] == [c.sha for c in reversed(commits[49:299])]
    assert "page=2" in links(by_default)["next"]


# --- conditional requests and rate limit -------------------------------------------------------
NEW_ENDPOINTS = (
    f"{API}/pulls",
    f"{API}/deployments",
    f"{API}/deployments/4/statuses",
    f"{API}/releases",
    f"{API}/compare/{'7' * 40}...main",
    f"{API}/actions/runs/2/attempts/1",
    f"{API}/actions/runs/2/attempts/1/jobs",
)


@pytest.mark.parametrize("path", NEW_ENDPOINTS)
def test_a_new_endpoint_charges_a_point_and_answers_a_matching_etag_with_a_free_304(
    http: httpx.Client, fake: FakeGitHub, path: str
) -> None:
    first = http.get(path)
    assert (first.status_code, fake.points_used) == (200, 1)
    again = http.get(path, headers={"If-None-Match": first.headers["etag"]})
    assert (again.status_code, again.content, fake.points_used) == (304, b"", 1)
