"""The demo repository, read over HTTP, has realistic data for every metric to show, all tied to its
commits on main: runs with timings and flaky re-runs, pull requests, deployments and releases."""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta
from typing import Any

import httpx

from exporter.demo import demo_github
from tests.demo.conftest import NOW

API = "/repos/Metta-AI/metta"


def at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def everything(client: httpx.Client, path: str, **query: str) -> Any:
    """Every item of a list, following its `Link: rel="next"` pages (a run list's items are merged)."""
    url: str | None = API + path
    params: dict[str, str] | None = {"per_page": "100", **query}
    items: list[Any] = []
    while url:
        response = client.get(url, params=params)
        assert response.status_code == 200, f"{url}: {response.status_code}"
        body = response.json()
        items += body["workflow_runs"] if isinstance(body, dict) else body
        found = re.search(r'<([^>]+)>; rel="next"', response.headers.get("Link", ""))
        url, params = (found[1], None) if found else (None, None)
    return items


def main_commits(client: httpx.Client) -> dict[str, Any]:
    """sha -> commit of every demo commit on main."""
    return {c["sha"]: c["commit"] for c in everything(client, "/commits")}


def test_the_demos_pulls_deployments_and_releases_are_the_same_every_time_it_is_built() -> None:
    first, second = demo_github(NOW).repo("Metta-AI/metta"), demo_github(NOW).repo("Metta-AI/metta")
    assert first.pulls and first.deployments and first.releases
    assert first == second


def test_ci_runs_on_main_have_timings_a_red_streak_and_flaky_reruns(client: httpx.Client) -> None:
    runs = everything(client, "/actions/workflows/checks.yml/runs", branch="main")
    week = [r for r in runs if at(r["created_at"]) >= NOW - timedelta(days=7)]
    durations = {at(r["updated_at"]) - at(r["run_started_at"]) for r in runs}
    assert len(durations) >= 5 and all(timedelta(minutes=3) <= d <= timedelta(minutes=30) for d in durations)
    assert "failure" in {r["conclusion"] for r in week}
    reruns = [r for r in runs if r["run_attempt"] > 1]
    assert len(reruns) == 2 and {r["conclusion"] for r in reruns} == {"success"}
    for rerun in reruns:
        first = client.get(f"{API}/actions/runs/{rerun['id']}/attempts/1").json()
        assert first["conclusion"] == "failure"
        assert at(first["updated_at"]) < at(rerun["run_started_at"])
    assert {r["head_sha"] for r in runs} <= set(main_commits(client))


def test_pull_requests_are_open_stale_merged_drafts_and_from_forks(client: httpx.Client) -> None:
    pulls = everything(client, "/pulls", state="all")
    open_pulls = [p for p in pulls if p["state"] == "open"]
    stale = [p for p in open_pulls if at(p["updated_at"]) < NOW - timedelta(days=7)]
    merged_this_week = [p for p in pulls if p["merged_at"] and at(p["merged_at"]) >= NOW - timedelta(days=7)]
    assert 35 <= len(pulls) <= 45
    assert len(open_pulls) >= 8 and len(stale) >= 3 and len(merged_this_week) >= 15
    assert [p["number"] for p in pulls if p["draft"]] == [1405]
    fork_heads = [p["head"]["repo"] for p in pulls if p["head"]["repo"] is None or p["head"]["repo"]["fork"]]
    assert len(fork_heads) >= 2 and None in fork_heads
    assert any(p["state"] == "closed" and not p["merged_at"] for p in pulls)
    commits = main_commits(client)
    for pull in (p for p in pulls if p["merged_at"]):
        assert f"#{pull['number']}" in commits[pull["merge_commit_sha"]]["message"]
        assert at(pull["created_at"]) < at(pull["merged_at"]) <= at(pull["updated_at"])


def test_production_deployments_ship_main_commits_one_failed_one_rolled_back_by_a_revert(
    client: httpx.Client,
) -> None:
    deployments = everything(client, "/deployments", environment="production")
    commits = main_commits(client)
    assert 14 <= len(deployments) <= 18
    assert NOW - at(deployments[-1]["created_at"]) <= timedelta(days=14)
    assert {d["sha"] for d in deployments} <= set(commits)
    final = {}
    for deployment in deployments:
        states = [s["state"] for s in everything(client, f"/deployments/{deployment['id']}/statuses")]
        final[deployment["id"]] = next((s for s in states if s in ("success", "failure", "error")), None)
    assert list(final.values()).count("failure") == 1
    assert final[deployments[0]["id"]] is None  # the newest is still rolling out
    oldest_first = sorted(commits, key=lambda sha: at(commits[sha]["committer"]["date"]))
    shipped = [d["sha"] for d in reversed(deployments) if final[d["id"]] == "success"]
    rollbacks = [
        later
        for earlier, later in itertools.pairwise(shipped)
        for sha in oldest_first[oldest_first.index(earlier) + 1 : oldest_first.index(later) + 1]
        if commits[sha]["message"].startswith("Revert")
    ]
    assert rollbacks


def test_the_deploy_workflow_ran_once_per_production_deployment(client: httpx.Client) -> None:
    runs = everything(client, "/actions/workflows/deploy.yml/runs")
    deployments = everything(client, "/deployments", environment="production")
    assert sorted(r["head_sha"] for r in runs) == sorted(d["sha"] for d in deployments)
    assert {r["conclusion"] for r in runs} == {"success", "failure", None}
    # Only the newest is still running: a deployment superseded later (marked inactive) had finished.
    assert [r["status"] for r in runs] == ["in_progress"] + ["completed"] * (len(runs) - 1)


def test_releases_tag_main_commits_with_a_prerelease_and_a_draft(client: httpx.Client) -> None:
    releases = everything(client, "/releases")
    published = [r for r in releases if not r["draft"]]
    assert len(published) >= 4 and [r["prerelease"] for r in published].count(True) == 1
    assert [r["published_at"] for r in releases if r["draft"]] == [None]
    first, last = published[-1]["tag_name"], published[0]["tag_name"]
    comparison = client.get(f"{API}/compare/{first}...{last}").json()
    assert comparison["status"] == "ahead" and comparison["total_commits"] > 50
