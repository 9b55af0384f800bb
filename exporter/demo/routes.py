"""The REST endpoints the exporter reads, answered from a FakeRepo list like GitHub answers them.

Lists paginate as GitHub does: `per_page` (default 30, max 100) and `page`, with a `Link` header
whose URLs carry the whole original query and point at `/repositories/{id}/...` like GitHub's.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from exporter.demo import payloads
from exporter.demo.model import FakeRepo, FakeRun

RUN_STATUSES = frozenset({"queued", "in_progress", "completed", "waiting", "requested", "pending"})
CREATED = datetime(2020, 1, 1, tzinfo=UTC)


@dataclass
class Answer:
    """What the server sends: status, JSON body (None = no body) and extra headers."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def not_found() -> Answer:
    return Answer(404, payloads.error("Not Found", 404))


def find_repo(repos: Sequence[FakeRepo], path: str) -> tuple[FakeRepo, str] | None:
    """The repo a `/repos/{o}/{r}...` or `/repositories/{id}...` path names, and the rest of the path."""
    match = re.fullmatch(r"/repos/([^/]+)/([^/]+)(/.*)?", path)
    if match:
        full_name = f"{match[1]}/{match[2]}".lower()
        repo = next((r for r in repos if r.full_name.lower() == full_name), None)
        return (repo, match[3] or "") if repo else None
    match = re.fullmatch(r"/repositories/(\d+)(/.*)?", path)
    if match:
        repo = next((r for r in repos if r.id == int(match[1])), None)
        return (repo, match[2] or "") if repo else None
    return None


def route(repos: Sequence[FakeRepo], base: str, path: str, query: dict[str, str]) -> Answer:
    """Answer one GET like GitHub would (rate limit, auth and faults are the server's business)."""
    found = find_repo(repos, path)
    if found is None:
        return not_found()
    repo, rest = found
    if rest == "":
        return Answer(200, payloads.full_repository(base, repo, CREATED))
    if rest == "/commits":
        return list_commits(repo, base, query)
    if rest == "/actions/workflows":
        return list_workflows(repo, base, query)
    match = re.fullmatch(r"/actions/workflows/([^/]+)(/runs)?", rest)
    if match:
        workflow_file = repo.find_workflow(match[1])
        if workflow_file is None:
            return not_found()
        if match[2]:
            return list_runs(repo, base, workflow_file, query)
        return Answer(200, payloads.workflow(base, repo, workflow_file, CREATED))
    match = re.fullmatch(r"/actions/runs/(\d+)(/jobs)?", rest)
    if match:
        run = repo.find_run(int(match[1]))
        if run is None:
            return not_found()
        if match[2]:
            return list_jobs(repo, base, run, query)
        return Answer(200, payloads.workflow_run(base, repo, run, run_number(repo, run)))
    return not_found()


def run_number(repo: FakeRepo, run: FakeRun) -> int:
    """Runs of a workflow are numbered 1, 2, ... in creation order."""
    same = sorted((r for r in repo.runs if r.workflow_file == run.workflow_file), key=lambda r: (r.created_at, r.id))
    return same.index(run) + 1


def list_workflows(repo: FakeRepo, base: str, query: dict[str, str]) -> Answer:
    workflows = [payloads.workflow(base, repo, workflow_file, CREATED) for workflow_file in repo.workflows]
    page, links = paginate(workflows, repo, base, "/actions/workflows", query)
    return Answer(200, {"total_count": len(workflows), "workflows": page}, links)


def list_runs(repo: FakeRepo, base: str, workflow_file: str, query: dict[str, str]) -> Answer:
    runs = [r for r in repo.runs if r.workflow_file == workflow_file]
    if "branch" in query:
        runs = [r for r in runs if r.head_branch == query["branch"]]
    if "event" in query:
        runs = [r for r in runs if r.event == query["event"]]
    if "head_sha" in query:
        runs = [r for r in runs if r.sha == query["head_sha"]]
    if "status" in query:
        wanted = query["status"]
        runs = [r for r in runs if (r.status if wanted in RUN_STATUSES else r.conclusion) == wanted]
    runs.sort(key=lambda r: (r.created_at, r.id), reverse=True)
    page, links = paginate(runs, repo, base, "/actions/workflows/" + workflow_file + "/runs", query)
    body = {
        "total_count": len(runs),
        "workflow_runs": [payloads.workflow_run(base, repo, r, run_number(repo, r)) for r in page],
    }
    return Answer(200, body, links)


def list_jobs(repo: FakeRepo, base: str, run: FakeRun, query: dict[str, str]) -> Answer:
    """`filter=latest` (default): the newest attempt's jobs; `filter=all`: earlier (failed) attempts too."""
    jobs = [payloads.job(base, repo, run, j, run.run_attempt) for j in run.jobs]
    if query.get("filter") == "all":
        for attempt in range(run.run_attempt - 1, 0, -1):
            for earlier in run.jobs:
                item = payloads.job(base, repo, run, earlier, attempt)
                item["conclusion"] = "failure"
                jobs.append(item)
    page, links = paginate(jobs, repo, base, f"/actions/runs/{run.id}/jobs", query)
    return Answer(200, {"total_count": len(jobs), "jobs": page}, links)


def list_commits(repo: FakeRepo, base: str, query: dict[str, str]) -> Answer:
    if repo.is_empty:
        return Answer(409, payloads.error("Git Repository is empty.", 409))
    ref = query.get("sha") or repo.default_branch
    if ref in repo.commits:
        commits = sorted(repo.commits[ref], key=lambda c: c.committer_date, reverse=True)
    else:
        commits = commits_from_sha(repo, ref)
        if not commits:
            return Answer(404, payloads.error(f"No commit found for SHA: {ref}", 404))
    try:
        since, until = parse_time(query.get("since")), parse_time(query.get("until"))
    except ValueError:
        return Answer(422, payloads.error("Invalid time", 422))
    commits = [
        c
        for c in commits
        if (since is None or c.committer_date >= since) and (until is None or c.committer_date <= until)
    ]
    page, links = paginate(commits, repo, base, "/commits", query)
    return Answer(200, [payloads.commit(base, repo, c) for c in page], links)


def commits_from_sha(repo: FakeRepo, sha: str) -> list[Any]:
    """The history reachable from a commit sha (its branch's commits no newer than it)."""
    for commits in repo.commits.values():
        ordered = sorted(commits, key=lambda c: c.committer_date, reverse=True)
        for index, candidate in enumerate(ordered):
            if candidate.sha == sha:
                return ordered[index:]
    return []


def parse_time(value: str | None) -> datetime | None:
    """Parse GitHub's ISO 8601 timestamps (`Z` or an offset; a naive time is UTC)."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def paginate(
    items: list[Any], repo: FakeRepo, base: str, rest: str, query: dict[str, str]
) -> tuple[list[Any], dict[str, str]]:
    """One page of items and the Link header GitHub would send with it."""
    per_page = _int(query.get("per_page"), 30)
    per_page = 30 if per_page < 1 else min(per_page, 100)
    page = max(_int(query.get("page"), 1), 1)
    last = math.ceil(len(items) / per_page)
    chunk = items[(page - 1) * per_page : page * per_page]
    if last <= 1:
        return chunk, {}

    def url(number: int) -> str:
        params = {k: v for k, v in query.items() if k != "page"} | {"page": str(number)}
        return f"{base}/repositories/{repo.id}{rest}?{urlencode(params)}"

    rels = []
    if page > 1:
        rels.append((min(page - 1, last), "prev"))
    if page < last:
        rels += [(page + 1, "next"), (last, "last")]
    if page > 1:
        rels.append((1, "first"))
    return chunk, {"Link": ", ".join(f'<{url(n)}>; rel="{rel}"' for n, rel in rels)}


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default
