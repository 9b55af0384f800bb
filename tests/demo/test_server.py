"""The fake GitHub answers like GitHub: pagination, filters, headers, rate limit, auth, faults, renames."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest

from exporter.demo import FakeGitHub, FakeRepo, FakeRun, Fault
from tests.demo.conftest import NOW

RUNS = "/repos/Metta-AI/metta/actions/workflows/checks.yml/runs"
COMMITS = "/repos/Metta-AI/metta/commits"


def links(response: httpx.Response) -> dict[str, str]:
    return {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', response.headers.get("Link", ""))}


def test_commits_span_three_pages_whose_links_carry_the_query(client: httpx.Client) -> None:
    query = {"sha": "main", "since": "2026-02-20T00:00:00Z", "per_page": "40"}
    first = client.get(COMMITS, params=query)
    assert len(first.json()) == 40
    assert set(links(first)) == {"next", "last"}
    assert "sha=main&since=2026-02-20T00%3A00%3A00Z&per_page=40&page=3" in links(first)["last"]
    shas = [c["sha"] for c in first.json()]
    url = links(first)["next"]
    for _ in range(2):
        page = client.get(url)
        shas += [c["sha"] for c in page.json()]
        url = links(page).get("next", "")
    assert set(links(page)) == {"prev", "first"}
    assert len(shas) == len(set(shas)) == first_total(client, query)


def first_total(client: httpx.Client, query: dict[str, str]) -> int:
    return len(client.get(COMMITS, params=query | {"per_page": "100"}).json()) + len(
        client.get(COMMITS, params=query | {"per_page": "100", "page": "2"}).json()
    )


def test_a_middle_page_links_to_prev_next_last_and_first(client: httpx.Client) -> None:
    response = client.get(RUNS, params={"branch": "main", "per_page": "10", "page": "2"})
    assert list(links(response)) == ["prev", "next", "last", "first"]
    assert all("branch=main" in url and "per_page=10" in url for url in links(response).values())
    assert links(response)["last"].endswith("page=3")


def test_per_page_defaults_to_30_and_is_capped_at_100(client: httpx.Client) -> None:
    assert len(client.get(COMMITS).json()) == 30
    assert len(client.get(COMMITS, params={"per_page": "500"}).json()) == 100


def test_since_keeps_commits_whose_committer_date_is_not_older(client: httpx.Client) -> None:
    since = NOW - timedelta(days=7)
    body = client.get(COMMITS, params={"since": since.strftime("%Y-%m-%dT%H:%M:%SZ"), "per_page": "100"}).json()
    dates = [c["commit"]["committer"]["date"] for c in body]
    assert dates == sorted(dates, reverse=True)
    assert 0 < len(body) < 150
    assert min(dates) >= since.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_runs_are_filtered_by_branch_and_status_newest_first(client: httpx.Client) -> None:
    body = client.get(RUNS, params={"branch": "main", "status": "completed", "per_page": "100"}).json()
    runs = body["workflow_runs"]
    assert body["total_count"] == len(runs) == 25
    assert {r["head_branch"] for r in runs} == {"main"}
    assert [r["created_at"] for r in runs] == sorted((r["created_at"] for r in runs), reverse=True)
    assert (runs[0]["conclusion"], runs[1]["conclusion"]) == ("success", "cancelled")
    failures = client.get(RUNS, params={"status": "failure"}).json()["workflow_runs"]
    assert failures and {r["conclusion"] for r in failures} == {"failure"}


def test_jobs_of_the_latest_attempt_or_of_all_attempts(client: httpx.Client, demo: FakeGitHub) -> None:
    rerun = next(r for r in demo.repo("Metta-AI/metta").runs if r.run_attempt == 2)
    latest = client.get(f"/repos/Metta-AI/metta/actions/runs/{rerun.id}/jobs").json()
    every = client.get(f"/repos/Metta-AI/metta/actions/runs/{rerun.id}/jobs", params={"filter": "all"}).json()
    assert {j["run_attempt"] for j in latest["jobs"]} == {2}
    assert every["total_count"] == 2 * latest["total_count"]


def test_the_workflows_list_names_every_workflow_of_the_repository_a_page_at_a_time() -> None:
    workflows = [f"w{n}.yml" for n in range(3)]
    with FakeGitHub(repos=[FakeRepo("o/r", workflows=workflows)]) as fake, httpx.Client(base_url=fake.url) as http:
        first = http.get("/repos/o/r/actions/workflows", params={"per_page": "2"})
        second = http.get(links(first)["next"])
    assert first.json()["total_count"] == 3
    listed = first.json()["workflows"] + second.json()["workflows"]
    assert [w["path"] for w in listed] == [f".github/workflows/{name}" for name in workflows]
    assert [w["id"] for w in listed] == [fake.repo("o/r").workflow_id(name) for name in workflows]


def test_a_forks_pull_request_run_on_its_main_names_the_fork_as_head_repository() -> None:
    # GitHub matches `branch=main` against the run's head branch, wherever it lives: a fork's `main` too.
    fork_run = FakeRun(2, "failure", event="pull_request", head_repository="someone/r")
    fake = FakeGitHub(repos=[FakeRepo("o/r", runs=[FakeRun(1, "success"), fork_run])])
    with fake, httpx.Client(base_url=fake.url) as http:
        runs = http.get("/repos/o/r/actions/workflows/checks.yml/runs", params={"branch": "main"}).json()
    own, fork = sorted(runs["workflow_runs"], key=lambda run: run["id"])
    assert (own["head_branch"], own["head_repository"]["full_name"], own["head_repository"]["fork"]) == (
        "main",
        "o/r",
        False,
    )
    assert (fork["head_branch"], fork["head_repository"]["full_name"], fork["head_repository"]["fork"]) == (
        "main",
        "someone/r",
        True,
    )
    assert fork["repository"]["full_name"] == "o/r"
    assert fork["head_repository"]["id"] != fork["repository"]["id"]


def test_unknown_workflows_and_paths_answer_githubs_404(client: httpx.Client) -> None:
    for path in ("/repos/Metta-AI/metta/actions/workflows/nope.yml/runs", "/repos/a/b", "/nothing"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json()["message"] == "Not Found"


def test_a_repository_without_commits_answers_409(edge: FakeGitHub) -> None:
    with httpx.Client(base_url=edge.url) as http:
        response = http.get("/repos/edge/empty/commits")
    assert (response.status_code, response.json()["message"]) == (409, "Git Repository is empty.")


def test_every_answer_has_githubs_headers(client: httpx.Client) -> None:
    headers = client.get(RUNS).headers
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert headers["x-ratelimit-limit"] == "5000"
    assert headers["x-ratelimit-resource"] == "core"
    assert headers["x-github-api-version-selected"] == "2022-11-28"
    assert re.fullmatch(r'W/"[0-9a-f]{64}"', headers["etag"])
    assert headers["cache-control"].startswith("private, max-age=60")


def test_a_matching_if_none_match_answers_304_without_charging_a_point(client: httpx.Client, demo: FakeGitHub) -> None:
    first = client.get(RUNS)
    used = demo.points_used
    again = client.get(RUNS, headers={"If-None-Match": first.headers["etag"]})
    assert (again.status_code, again.content) == (304, b"")
    assert demo.points_used == used
    assert again.headers["x-ratelimit-remaining"] == first.headers["x-ratelimit-remaining"]
    demo.repo("Metta-AI/metta").runs[0].conclusion = "failure"
    changed = client.get(RUNS, headers={"If-None-Match": first.headers["etag"]})
    assert changed.status_code == 200
    assert demo.points_used == used + 1


def test_the_rate_limit_runs_out_into_githubs_primary_403() -> None:
    with FakeGitHub(repos=[FakeRepo("o/r")], rate_limit=3) as fake, httpx.Client(base_url=fake.url) as http:
        auth = {"Authorization": "Bearer x"}
        remaining = [http.get("/repos/o/r", headers=auth).headers["x-ratelimit-remaining"] for _ in range(3)]
        limited = http.get("/repos/o/r", headers=auth)
        anonymous = http.get("/repos/o/r")
    assert remaining == ["2", "1", "0"]
    assert limited.status_code == 403
    assert limited.json()["message"].startswith("API rate limit exceeded")
    assert int(limited.headers["x-ratelimit-reset"]) > int(NOW.timestamp())
    assert (anonymous.status_code, anonymous.headers["x-ratelimit-limit"]) == (200, "60")
    assert (fake.points_used, fake.anonymous_points_used) == (4, 1)


def test_setting_points_used_brings_the_limit_near() -> None:
    with FakeGitHub(repos=[FakeRepo("o/r")], rate_limit=100) as fake, httpx.Client(base_url=fake.url) as http:
        fake.points_used = 99
        statuses = [http.get("/repos/o/r", headers={"Authorization": "token x"}).status_code for _ in range(2)]
        rate = http.get("/rate_limit", headers={"Authorization": "token x"}).json()["resources"]["core"]
    assert statuses == [200, 403]
    assert (rate["remaining"], rate["used"], fake.points_used) == (0, 100, 100)


def test_a_new_window_restores_the_rate_limit() -> None:
    moments = [NOW]
    fake = FakeGitHub(repos=[FakeRepo("o/r")], rate_limit=1, clock=lambda: moments[-1])
    with fake, httpx.Client(base_url=fake.url, headers={"Authorization": "token x"}) as http:
        assert [http.get("/repos/o/r").status_code for _ in range(2)] == [200, 403]
        moments.append(NOW + timedelta(hours=1))
        assert http.get("/repos/o/r").status_code == 200


def test_only_valid_tokens_pass_once_tokens_are_configured(demo: FakeGitHub) -> None:
    demo.valid_tokens = {"good"}
    with httpx.Client(base_url=demo.url) as http:
        bad = http.get(RUNS, headers={"Authorization": "token bad"})
        good = http.get(RUNS, headers={"Authorization": "Bearer good"})
        anonymous = http.get(RUNS)
    assert (bad.status_code, bad.json()["message"]) == (401, "Bad credentials")
    assert (good.status_code, anonymous.status_code) == (200, 200)


def test_the_request_log_records_path_query_status_and_headers(client: httpx.Client, demo: FakeGitHub) -> None:
    client.get(RUNS, params={"branch": "main"})
    client.get("/repos/Metta-AI/metta/actions/workflows/nope.yml")
    first, _second = demo.requests
    assert (first.method, first.path, first.query, first.status) == ("GET", RUNS, {"branch": "main"}, 200)
    assert first.headers["authorization"] == "token t0k3n"
    assert demo.count("/actions/workflows") == 2
    assert demo.count(status=404) == 1
    demo.clear_requests()
    assert demo.count() == 0


def test_a_renamed_repository_moves_to_its_repositories_id_path(client: httpx.Client, demo: FakeGitHub) -> None:
    demo.inject(Fault("moved", path_regex="^/repos/Metta-AI/metta"))
    moved = client.get(COMMITS, params={"per_page": "5"})
    assert moved.status_code == 301
    repo_id = demo.repo("Metta-AI/metta").id
    assert moved.headers["location"] == f"{demo.url}/repositories/{repo_id}/commits?per_page=5"
    assert moved.json()["message"] == "Moved Permanently"
    followed = client.get(moved.headers["location"])
    assert (followed.status_code, len(followed.json())) == (200, 5)


STATUS_FAULTS: dict[str, Callable[[httpx.Response], bool]] = {
    "unauthorized": lambda r: r.status_code == 401 and r.json()["message"] == "Bad credentials",
    "not_found": lambda r: r.status_code == 404 and r.json()["message"] == "Not Found",
    "empty_repository": lambda r: r.status_code == 409 and r.json()["message"] == "Git Repository is empty.",
    "primary_rate_limit": lambda r: (
        r.status_code == 403
        and r.headers["x-ratelimit-remaining"] == "0"
        and int(r.headers["x-ratelimit-reset"]) >= int(NOW.timestamp()) + 60
        and r.json()["message"].startswith("API rate limit exceeded")
    ),
    "secondary_rate_limit": lambda r: (
        r.status_code == 403
        and r.headers["retry-after"] == "7"
        and r.json()["message"].startswith("You have exceeded a secondary rate limit")
    ),
    "too_many_requests": lambda r: r.status_code == 429 and r.headers["retry-after"] == "7",
}


@pytest.mark.parametrize("kind", sorted(STATUS_FAULTS))
def test_a_fault_answers_as_github_would(client: httpx.Client, demo: FakeGitHub, kind: str) -> None:
    demo.inject(Fault(kind, path_regex="/runs$", times=1, retry_after=7))  # type: ignore[arg-type]
    assert STATUS_FAULTS[kind](client.get(RUNS))
    assert client.get(RUNS).status_code == 200
    assert client.get(COMMITS).status_code == 200


def test_a_status_fault_sends_any_code_with_a_github_error_body(client: httpx.Client, demo: FakeGitHub) -> None:
    demo.inject(Fault("status", status=502, times=2))
    responses = [client.get(COMMITS) for _ in range(3)]
    assert [r.status_code for r in responses] == [502, 502, 200]
    assert responses[0].json()["message"] == "Bad Gateway"


def test_a_refused_request_gets_no_answer(client: httpx.Client, demo: FakeGitHub) -> None:
    demo.inject(Fault("refuse", times=1))
    with pytest.raises(httpx.RemoteProtocolError):
        client.get(RUNS)
    assert demo.requests[-1].status == 0
    assert client.get(RUNS).status_code == 200


def test_a_truncated_answer_ends_before_its_content_length(client: httpx.Client, demo: FakeGitHub) -> None:
    demo.inject(Fault("truncated", times=1))
    with pytest.raises(httpx.RemoteProtocolError):
        client.get(RUNS)
    assert client.get(RUNS).status_code == 200


def test_a_not_json_answer_is_an_html_error_page(client: httpx.Client, demo: FakeGitHub) -> None:
    demo.inject(Fault("not_json", times=1))
    response = client.get(RUNS)
    assert response.headers["content-type"] == "text/html"
    with pytest.raises(ValueError):
        response.json()


def test_missing_fields_drop_required_keys_from_every_item(client: httpx.Client, demo: FakeGitHub) -> None:
    demo.inject(Fault("missing_fields", times=2))
    runs = client.get(RUNS).json()["workflow_runs"]
    commits = client.get(COMMITS).json()
    assert runs and all("conclusion" not in r and "created_at" not in r for r in runs)
    assert commits and all("commit" not in c for c in commits)


def test_nulls_set_item_fields_to_null(client: httpx.Client, demo: FakeGitHub) -> None:
    demo.inject(Fault("nulls", times=1))
    runs = client.get(RUNS).json()["workflow_runs"]
    assert all(r["conclusion"] is None and r["head_branch"] is None and r["id"] for r in runs)


def test_a_gzip_bomb_is_the_true_answer_padded_to_its_decoded_size_and_small_on_the_wire(
    client: httpx.Client, demo: FakeGitHub
) -> None:
    true = client.get(RUNS).json()
    demo.inject(Fault("gzip_bomb", times=1, body_bytes=8 << 20))
    response = client.get(RUNS)
    assert response.headers["content-encoding"] == "gzip"
    assert len(response.content) == 8 << 20 and response.json() == true
    assert response.num_bytes_downloaded < 64 << 10


def test_a_huge_body_is_the_true_answer_padded_to_its_content_length(client: httpx.Client, demo: FakeGitHub) -> None:
    true = client.get(COMMITS).json()
    demo.inject(Fault("huge_body", times=1, body_bytes=3_000_000))
    response = client.get(COMMITS)
    assert response.headers["content-length"] == "3000000" and "content-encoding" not in response.headers
    assert response.json() == true


def wait_until(condition: Callable[[], bool], seconds: float = 10) -> None:
    """Poll with a deadline (no sleeps): fail if the condition never holds."""
    deadline = time.monotonic() + seconds
    ready = threading.Event()
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        ready.wait(0.005)


def call_in_thread(url: str, failures: list[BaseException]) -> threading.Thread:
    def call() -> None:
        try:
            with httpx.Client(timeout=30) as http:
                http.get(url)
        except httpx.TransportError as error:
            failures.append(error)

    caller = threading.Thread(target=call)
    caller.start()
    return caller


def test_a_hung_request_waits_until_released_then_gets_no_answer(demo: FakeGitHub) -> None:
    demo.inject(Fault("hang", times=1))
    failures: list[BaseException] = []
    caller = call_in_thread(demo.url + RUNS, failures)
    wait_until(lambda: demo.hanging == 1)
    assert caller.is_alive() and not demo.requests
    demo.release_hangs()
    caller.join(timeout=10)
    assert [type(f) for f in failures] == [httpx.RemoteProtocolError]
    assert (demo.hanging, demo.requests[-1].status) == (0, 0)


def test_stop_releases_a_hung_request(demo: FakeGitHub) -> None:
    demo.inject(Fault("hang"))
    failures: list[BaseException] = []
    caller = call_in_thread(demo.url + RUNS, failures)
    wait_until(lambda: demo.hanging == 1)
    demo.stop()
    caller.join(timeout=10)
    assert not caller.is_alive()
    assert [type(f) for f in failures] == [httpx.RemoteProtocolError]


def test_latency_delays_answers_without_changing_them(client: httpx.Client, demo: FakeGitHub) -> None:
    demo.latency_seconds = 0.01
    assert client.get(RUNS).status_code == 200


def test_secondary_points_a_minute_run_out_into_a_403_with_retry_after_per_identity() -> None:
    moments = [NOW + timedelta(seconds=15)]
    fake = FakeGitHub(repos=[FakeRepo("o/r")], clock=lambda: moments[-1], secondary_points_per_minute=3)
    with fake, httpx.Client(base_url=fake.url, headers={"Authorization": "token x"}) as http:
        first = http.get("/repos/o/r")
        unchanged = http.get("/repos/o/r", headers={"If-None-Match": first.headers["etag"]})
        http.get("/rate_limit")
        limited = http.get("/repos/o/r")
        other_token = http.get("/repos/o/r", headers={"Authorization": "token y"})
        anonymous = http.get("/repos/o/r", headers={"Authorization": ""})
        primary_used = fake.points_used
        moments.append(NOW + timedelta(seconds=60))
        next_minute = http.get("/repos/o/r")
    assert (first.status_code, unchanged.status_code) == (200, 304)  # a 304 costs a secondary point too
    assert limited.status_code == 403
    assert limited.json()["message"].startswith("You have exceeded a secondary rate limit")
    assert limited.headers["retry-after"] == "45"  # the minute that began at NOW ends 45 s later
    assert (other_token.status_code, anonymous.status_code, next_minute.status_code) == (200, 200, 200)
    assert primary_used == 3  # x's first, y's and the anonymous one: not the 304, /rate_limit or the refused one
    minute = int(NOW.timestamp() // 60)
    assert fake.points_per_minute() == {
        ("token:x", minute): 3,
        ("token:y", minute): 1,
        ("anonymous:127.0.0.1", minute): 1,
        ("token:x", minute + 1): 1,
    }
    assert (fake.peak_points_per_minute, fake.secondary_refusals) == (3, 1)


def test_more_concurrent_requests_than_allowed_are_refused_with_the_secondary_403(demo: FakeGitHub) -> None:
    demo.max_concurrent = 2
    demo.inject(Fault("hang", times=2))
    failures: list[BaseException] = []
    callers = [call_in_thread(demo.url + RUNS, failures) for _ in range(2)]
    try:
        wait_until(lambda: demo.hanging == 2)
        with httpx.Client(base_url=demo.url, timeout=10) as http:
            third = http.get(RUNS)
            other = http.get(RUNS, headers={"Authorization": "token someone-else"})
    finally:
        demo.release_hangs()
        for caller in callers:
            caller.join(timeout=10)
    assert third.status_code == 403
    assert third.json()["message"].startswith("You have exceeded a secondary rate limit")
    assert third.headers["retry-after"] == "60"
    assert other.status_code == 200  # another identity has its own allowance
    assert demo.peak_concurrency == 3
    with httpx.Client(base_url=demo.url, timeout=10) as http:
        assert http.get(RUNS).status_code == 200  # the hung requests have ended


def test_secondary_limits_are_off_unless_configured(client: httpx.Client, demo: FakeGitHub) -> None:
    assert [client.get(RUNS).status_code for _ in range(5)] == [200] * 5
    assert demo.secondary_refusals == 0 and demo.peak_points_per_minute == 5
