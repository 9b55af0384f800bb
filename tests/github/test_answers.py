"""Answers PyGithub must not read: refused at the seam with a bounded reason."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
import requests

from exporter.github.answers import problem_with

RUNS = "/repos/o/r/actions/workflows/checks.yml/runs"


def answer(status: int, body: Any = None, **headers: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update({name.replace("_", "-"): text for name, text in headers.items()})
    response.raw = io.BytesIO(json.dumps(body).encode() if body is not None else b"")
    return response


def run_item(**fields: Any) -> dict[str, Any]:
    item = {
        "id": 1,
        "event": "push",
        "status": "completed",
        "conclusion": "success",
        "created_at": "2026-11-20T12:00:00Z",
    }
    item |= {"html_url": "https://github.com/o/r/actions/runs/1", "jobs_url": "https://api/jobs", **fields}
    return item


def test_a_redirect_left_over_after_the_seam_followed_what_it_may_is_moved() -> None:
    problem = problem_with(RUNS, answer(301, location="https://elsewhere.example/repos/o/r"))
    assert problem is not None and problem.reason == "moved"


def test_a_run_list_of_githubs_shape_passes() -> None:
    body = {"total_count": 2, "workflow_runs": [run_item(), run_item(id=2, status="in_progress", conclusion=None)]}
    assert problem_with(RUNS, answer(200, body)) is None


def test_a_completed_run_with_a_null_conclusion_is_bad_response() -> None:
    problem = problem_with(RUNS, answer(200, {"workflow_runs": [run_item(conclusion=None)]}))
    assert problem is not None and problem.reason == "bad_response"
    assert "item 0: conclusion is null on a completed item" in str(problem)


def test_a_true_is_not_a_run_id() -> None:
    problem = problem_with(RUNS, answer(200, {"workflow_runs": [run_item(id=True)]}))
    assert problem is not None and "id is a bool" in str(problem)


def test_a_run_without_its_event_is_bad_response() -> None:
    # Which runs are the branch's own depends on the event: a run that does not say cannot be judged.
    problem = problem_with(RUNS, answer(200, {"workflow_runs": [run_item(), run_item(id=2, event=None)]}))
    assert problem is not None and problem.reason == "bad_response"
    assert "item 1: event is null" in str(problem)


def test_a_workflow_list_item_without_its_path_is_bad_response() -> None:
    workflows = [{"id": 7, "path": ".github/workflows/checks.yml"}, {"id": 8}]
    problem = problem_with("/repos/o/r/actions/workflows", answer(200, {"total_count": 2, "workflows": workflows}))
    assert problem is not None and "item 1: path is missing" in str(problem)


def test_answers_of_paths_the_metrics_do_not_list_are_not_checked() -> None:
    assert problem_with("/repos/o/r", answer(200, {"anything": None})) is None
    assert problem_with(RUNS, answer(500, {"message": "Server Error"})) is None


# --- deployments, their statuses, releases, comparisons (the DORA keys) -----------------------

DEPLOYMENT = {"id": 7, "sha": "a" * 40, "created_at": "2026-11-20T12:00:00Z"}
STATUS = {"state": "success", "created_at": "2026-11-20T12:09:00Z"}
RELEASE = {"tag_name": "v1", "created_at": "2026-11-20T12:00:00Z", "draft": False, "prerelease": False}
COMPARED = {"sha": "b" * 40, "commit": {"message": "x", "committer": {"date": "2026-11-20T11:00:00Z"}}, "parents": []}


@pytest.mark.parametrize(
    "path,good,bad,problem",
    [
        ("/repos/o/r/deployments", [DEPLOYMENT], [{**DEPLOYMENT, "sha": None}], "item 0: sha is null"),
        ("/repositories/9/deployments", [DEPLOYMENT], [{"id": 7}], "item 0: sha is missing"),
        ("/repos/o/r/deployments/7/statuses", [STATUS], [{"created_at": "x"}], "item 0: state is missing"),
        (
            "/repos/o/r/releases",
            [{**RELEASE, "published_at": "2026-11-20T13:00:00Z"}, {**RELEASE, "draft": True, "published_at": None}],
            [{**RELEASE, "published_at": None}],
            "item 0: published_at is not a time",
        ),
        ("/repos/o/r/releases", [{**RELEASE, "published_at": "t"}], [{**RELEASE, "draft": "no"}], "draft is not"),
        (
            "/repos/o/r/compare/v1...v2",
            {"status": "ahead", "commits": [COMPARED]},
            {"status": "ahead", "commits": [{**COMPARED, "parents": None}]},
            "item 0: parents is null",
        ),
    ],
)
def test_deployment_answers_lacking_what_the_dora_metrics_read_are_bad_response(
    path: str, good: Any, bad: Any, problem: str
) -> None:
    assert problem_with(path, answer(200, good)) is None
    refused = problem_with(path, answer(200, bad))
    assert refused is not None and refused.reason == "bad_response" and problem in str(refused)


# --- CI flow and pull-request flow (issue 10) ---
PULLS = "/repos/o/r/pulls"


def pull_item(**fields: Any) -> dict[str, Any]:
    item = {"number": 7, "created_at": "2026-11-19T12:00:00Z", "updated_at": "2026-11-20T11:00:00Z"}
    return item | {"merged_at": None, "draft": False, "base": {"ref": "main"}, "head": {"repo": None}, **fields}


def test_pull_requests_must_carry_what_the_metrics_read_and_a_deleted_forks_null_head_repo_passes() -> None:
    body = [pull_item(), pull_item(number=8, merged_at="2026-11-20T10:00:00Z"), pull_item(number=9, draft=None)]
    assert problem_with(PULLS, answer(200, body)) is None
    no_merged_at = pull_item()
    del no_merged_at["merged_at"]
    for item, problem in [
        (no_merged_at, "item 0: merged_at is missing"),
        (pull_item(updated_at=None), "item 0: updated_at is null"),
        (pull_item(draft="no"), "item 0: draft is a str"),
        (pull_item(base={}), "item 0: base.ref is missing"),
    ]:
        found = problem_with(PULLS, answer(200, [item]))
        assert found is not None and found.reason == "bad_response"
        assert problem in str(found)


def test_a_run_attempt_must_say_its_status_and_once_completed_its_conclusion() -> None:
    path = "/repos/o/r/actions/runs/5/attempts/1"
    assert problem_with(path, answer(200, {"id": 5, "status": "completed", "conclusion": "failure"})) is None
    found = problem_with(path, answer(200, {"id": 5, "status": "completed", "conclusion": None}))
    assert found is not None and "conclusion is null on a completed item" in str(found)


def test_a_run_timing_of_the_wrong_type_is_bad_response_and_an_absent_one_passes() -> None:
    assert problem_with(RUNS, answer(200, {"workflow_runs": [run_item(run_started_at=None)]})) is None
    found = problem_with(RUNS, answer(200, {"workflow_runs": [run_item(updated_at=1700000000)]}))
    assert found is not None and "item 0: updated_at is a int" in str(found)
