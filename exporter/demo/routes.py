"""The REST endpoints the exporter reads, answered from a FakeRepo list like GitHub answers them.

Lists paginate as GitHub does: `per_page` (default 30, max 100) and `page`, with a `Link` header
whose URLs carry the whole original query and point at `/repositories/{id}/...` like GitHub's.
Lists come newest first (runs, deployments, statuses, releases; pull requests by `sort`), as GitHub's do.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlencode

from exporter.demo import payloads
from exporter.demo.model import FakeCommit, FakeRepo, FakeRun

RUN_STATUSES = frozenset({"queued", "in_progress", "completed", "waiting", "requested", "pending"})
CREATED = datetime(2020, 1, 1, tzinfo=UTC)
# Filters after which GitHub returns at most 1,000 runs ("for each search", says its reference).
SEARCH_FILTERS = ("actor", "branch", "check_suite_id", "created", "event", "head_sha", "status")
SEARCH_LIMIT = 1000
PULL_STATES = frozenset({"open", "closed", "all"})
PULL_SORTS = frozenset({"created", "updated", "popularity", "long-running"})
COMPARE_LIMIT = 250  # commits in a comparison asked for without paging parameters
# A comparison's pages hold 250 commits by default and at most 1,000 (as PyGithub documents them).
COMPARE_PAGE_SIZES = (250, 1000)


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


def route(
    repos: Sequence[FakeRepo], base: str, path: str, query: dict[str, str], now: datetime | None = None
) -> Answer:
    """Answer one GET like GitHub would (rate limit, auth and faults are the server's business).

    `now` (default: the wall clock) only matters to `sort=long-running` pull request lists.
    """
    listing = re.fullmatch(r"/(orgs|users|organizations|user)/([^/]+)/repos", path)
    if listing:
        return list_owner_repos(repos, base, (listing[1], listing[2]), query)
    found = find_repo(repos, path)
    if found is None:
        return not_found()
    repo, rest = found
    if rest == "":
        return Answer(200, payloads.full_repository(base, repo))
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
    match = re.fullmatch(r"/actions/runs/(\d+)/attempts/(\d+)(/jobs)?", rest)
    if match:
        return run_attempt(repo, base, (int(match[1]), int(match[2])), bool(match[3]), query)
    if rest == "/pulls":
        return list_pulls(repo, base, query, now or datetime.now(UTC))
    if rest == "/deployments":
        return list_deployments(repo, base, query)
    match = re.fullmatch(r"/deployments/(\d+)/statuses", rest)
    if match:
        return list_deployment_statuses(repo, base, int(match[1]), query)
    if rest == "/releases":
        return list_releases(repo, base, query)
    match = re.fullmatch(r"/compare/(.+)", rest)
    if match:
        return compare(repo, base, match[1], query)
    match = re.fullmatch(r"/contents/\.github/workflows/([^/]+)", rest)
    if match:
        return workflow_file_contents(repo, base, match[1], query)
    return not_found()


def workflow_file_contents(repo: FakeRepo, base: str, workflow_file: str, query: dict[str, str]) -> Answer:
    """`GET /repos/{o}/{r}/contents/.github/workflows/{file}` (`ref`: the default branch, or any branch
    with commits; the text is the same on each): the only files the fake holds."""
    ref = query.get("ref", repo.default_branch)
    if workflow_file not in repo.workflows or (ref != repo.default_branch and ref not in repo.commits):
        return not_found()
    path, text = f".github/workflows/{workflow_file}", repo.workflow_text(workflow_file)
    return Answer(200, payloads.content_file(base, repo, path, ref, text))


OWNER_REPO_TYPES = {"org": frozenset({"all", "public", "private", "forks", "sources", "member"})}
OWNER_REPO_TYPES["user"] = frozenset({"all", "owner", "member"})
OWNER_REPO_SORTS = frozenset({"created", "updated", "pushed", "full_name"})


def list_owner_repos(repos: Sequence[FakeRepo], base: str, owner: tuple[str, str], query: dict[str, str]) -> Answer:
    """`GET /orgs/{org}/repos` (an organisation's; `type` all by default, newest created first) and
    `GET /users/{user}/repos` (an account's own; `type` owner, by `full_name`), with `sort` and
    `direction`; their next pages as GitHub links them (`/organizations/{id}/repos`, `/user/{id}/repos`).
    An account with no repository here is unknown (404); `/orgs/` of a user is a 404 as on GitHub."""
    route_kind, login = owner
    kind = "org" if route_kind in ("orgs", "organizations") else "user"
    by_id = route_kind in ("organizations", "user")
    owned = [
        r
        for r in repos
        if (str(payloads.user_id(r.owner)) == login if by_id else r.owner.lower() == login.lower())
        and (kind == "user" or r.owner_type == "Organization")
    ]
    if not owned:
        return not_found()
    repo_type = query.get("type", "all" if kind == "org" else "owner")
    sort = query.get("sort", "created" if kind == "org" else "full_name")
    direction = query.get("direction", "asc" if sort == "full_name" else "desc")
    if repo_type not in OWNER_REPO_TYPES[kind] or sort not in OWNER_REPO_SORTS or direction not in ("asc", "desc"):
        return Answer(422, payloads.error("Validation Failed", 422))
    if repo_type in ("public", "private"):
        owned = [r for r in owned if (r.visibility == "public") == (repo_type == "public")]
    elif repo_type in ("forks", "sources"):
        owned = [r for r in owned if r.fork == (repo_type == "forks")]
    keys: dict[str, Callable[[FakeRepo], Any]] = {
        "created": lambda r: (r.created_at, r.id),
        "updated": lambda r: (r.pushed_at, r.id),
        "pushed": lambda r: (r.pushed_at, r.id),
        "full_name": lambda r: (r.full_name.lower(), r.id),
    }
    owned.sort(key=keys[sort], reverse=direction == "desc")
    account = payloads.user_id(owned[0].owner)
    at = f"{base}/{'organizations' if kind == 'org' else 'user'}/{account}/repos"
    page, links = paginate_at(owned, at, query)
    return Answer(200, [payloads.listed_repository(base, r) for r in page], links)


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
    if "created" in query:
        window = created_window(query["created"])
        # GitHub answers an unreadable date (e.g. a `+` offset sent unencoded) with no runs, not an error.
        runs = [r for r in runs if window is not None and within(r.created_at, window)]
    runs.sort(key=lambda r: (r.created_at, r.id), reverse=True)
    if any(name in query for name in SEARCH_FILTERS):
        runs = runs[:SEARCH_LIMIT]
    page, links = paginate(runs, repo, base, "/actions/workflows/" + workflow_file + "/runs", query)
    body = {
        "total_count": len(runs),
        "workflow_runs": [payloads.workflow_run(base, repo, r, run_number(repo, r)) for r in page],
    }
    return Answer(200, body, links)


def list_jobs(repo: FakeRepo, base: str, run: FakeRun, query: dict[str, str]) -> Answer:
    """`filter=latest` (default): the newest attempt's jobs; `filter=all`: earlier attempts' too."""
    jobs = attempt_jobs(repo, base, run, run.run_attempt)
    if query.get("filter") == "all":
        for attempt in range(run.run_attempt - 1, 0, -1):
            jobs += attempt_jobs(repo, base, run, attempt)
    page, links = paginate(jobs, repo, base, f"/actions/runs/{run.id}/jobs", query)
    return Answer(200, {"total_count": len(jobs), "jobs": page}, links)


def attempt_jobs(repo: FakeRepo, base: str, run: FakeRun, attempt: int) -> list[Any]:
    """The jobs of one attempt; an earlier attempt's jobs all carry that attempt's conclusion."""
    jobs = [payloads.job(base, repo, run, j, attempt) for j in run.jobs]
    if attempt < run.run_attempt:
        for item in jobs:
            item["conclusion"] = run.attempt(attempt).conclusion
    return jobs


def run_attempt(repo: FakeRepo, base: str, ids: tuple[int, int], jobs: bool, query: dict[str, str]) -> Answer:
    """`GET .../runs/{id}/attempts/{n}` and its `/jobs`; an attempt that never happened is a 404."""
    run_id, number = ids
    run = repo.find_run(run_id)
    if run is None or not 1 <= number <= run.run_attempt:
        return not_found()
    if not jobs:
        return Answer(200, payloads.workflow_run(base, repo, run, run_number(repo, run), attempt=number))
    items = attempt_jobs(repo, base, run, number)
    page, links = paginate(items, repo, base, f"/actions/runs/{run.id}/attempts/{number}/jobs", query)
    return Answer(200, {"total_count": len(items), "jobs": page}, links)


def created_window(value: str) -> tuple[datetime | None, datetime | None] | None:
    """GitHub's search syntax for dates (`D`, `>D`, `>=D`, `<D`, `<=D`, `A..B`, `*` = open end; D a
    date, meaning the whole UTC day, or a time) as a half-open [first, after); None when unreadable."""
    try:
        if ".." in value:
            low, high = value.split("..", 1)
            return (None if low == "*" else _span(low)[0], None if high == "*" else _span(high)[1])
        for operator in (">=", "<=", ">", "<"):
            if value.startswith(operator):
                first, after = _span(value[len(operator) :])
                return {">=": (first, None), ">": (after, None), "<": (None, first), "<=": (None, after)}[operator]
        return _span(value)
    except ValueError:
        return None


def _span(text: str) -> tuple[datetime, datetime]:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
        return day, day + timedelta(days=1)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment, moment + timedelta(seconds=1)  # GitHub's times have whole seconds


def within(moment: datetime, window: tuple[datetime | None, datetime | None]) -> bool:
    first, after = window
    return (first is None or moment >= first) and (after is None or moment < after)


def list_pulls(repo: FakeRepo, base: str, query: dict[str, str], now: datetime) -> Answer:
    """`state` (open), `head` (`owner:ref`), `base`, `sort` (created) and `direction` (desc for
    created, else asc), as GitHub's list; a value outside GitHub's choices is a 422."""
    state, sort = query.get("state", "open"), query.get("sort", "created")
    direction = query.get("direction", "desc" if sort == "created" else "asc")
    if state not in PULL_STATES or sort not in PULL_SORTS or direction not in ("asc", "desc"):
        return Answer(422, payloads.error("Validation Failed", 422))
    pulls = [p for p in repo.pulls if state == "all" or p.state == state]
    if "base" in query:
        pulls = [p for p in pulls if p.base_ref == query["base"]]
    if "head" in query:
        owner, _, ref = query["head"].partition(":")
        pulls = [p for p in pulls if (p.head_owner or repo.owner).lower() == owner.lower() and p.head_ref == ref]
    if sort == "long-running":  # open over a month, with activity within the month
        month = now - timedelta(days=30)
        pulls = [p for p in pulls if p.state == "open" and p.created_at < month <= p.last_update]
    keys: dict[str, Callable[[Any], Any]] = {
        "created": lambda p: (p.created_at, p.number),
        "updated": lambda p: (p.last_update, p.number),
        "popularity": lambda p: (p.comments, p.number),
        "long-running": lambda p: (p.created_at, p.number),
    }
    pulls.sort(key=keys[sort], reverse=direction == "desc")
    page, links = paginate(pulls, repo, base, "/pulls", query)
    return Answer(200, [payloads.pull_request(base, repo, p, CREATED) for p in page], links)


def list_deployments(repo: FakeRepo, base: str, query: dict[str, str]) -> Answer:
    """Newest first, filtered by `sha`, `ref`, `task` and `environment` (exact values)."""
    deployments = list(repo.deployments)
    for name in ("sha", "ref", "task", "environment"):
        if name in query:
            deployments = [d for d in deployments if getattr(d, name) == query[name]]
    deployments.sort(key=lambda d: (d.created_at, d.id), reverse=True)
    page, links = paginate(deployments, repo, base, "/deployments", query)
    return Answer(200, [payloads.deployment(base, repo, d) for d in page], links)


def list_deployment_statuses(repo: FakeRepo, base: str, deployment_id: int, query: dict[str, str]) -> Answer:
    deployment = repo.find_deployment(deployment_id)
    if deployment is None:
        return not_found()
    ordered = sorted(enumerate(deployment.statuses), key=lambda pair: (pair[1].created_at, pair[0]), reverse=True)
    statuses = [status for _, status in ordered]
    page, links = paginate(statuses, repo, base, f"/deployments/{deployment_id}/statuses", query)
    return Answer(200, [payloads.deployment_status(base, repo, deployment, s) for s in page], links)


def list_releases(repo: FakeRepo, base: str, query: dict[str, str]) -> Answer:
    """Newest first, drafts included (GitHub lists them to tokens with push access, flagged `draft`)."""
    releases = sorted(repo.releases, key=lambda r: (r.created_at, r.id), reverse=True)
    page, links = paginate(releases, repo, base, "/releases", query)
    return Answer(200, [payloads.release(base, repo, r) for r in page], links)


def compare(repo: FakeRepo, base: str, spec: str, query: dict[str, str]) -> Answer:
    """`git log base..head` in chronological order: the newest 250 without paging parameters, else
    pages of `per_page` from the oldest; unknown refs are a 404, unrelated histories too."""
    base_ref, separator, head_ref = unquote(spec).partition("...")
    if not separator:
        return not_found()
    base_sha, head_sha = resolve_ref(repo, base_ref), resolve_ref(repo, head_ref)
    if base_sha is None or head_sha is None:
        return not_found()
    history = next(
        (line for line in histories(repo) if {base_sha, head_sha} <= {c.sha for c in line}),
        None,
    )
    if history is None:
        return Answer(404, payloads.error(f"No common ancestor between {base_ref} and {head_ref}.", 404))
    shas = [c.sha for c in history]
    older, newer = shas.index(base_sha), shas.index(head_sha)
    ahead, behind = max(newer - older, 0), max(older - newer, 0)
    between = history[older + 1 : newer + 1]
    if "per_page" in query or "page" in query:
        shown, links = paginate(between, repo, base, f"/compare/{spec}", query, COMPARE_PAGE_SIZES)
    else:
        shown, links = between[-COMPARE_LIMIT:], {}
    ends = (history[older], history[newer], history[min(older, newer)])
    body = payloads.comparison(base, repo, (base_ref, head_ref), ends, (ahead, behind), shown)
    return Answer(200, body, links)


def histories(repo: FakeRepo) -> list[list[FakeCommit]]:
    """Each branch's commits, oldest first (a branch's list is its linear history)."""
    return [sorted(commits, key=lambda c: c.committer_date) for commits in repo.commits.values()]


def resolve_ref(repo: FakeRepo, ref: str) -> str | None:
    """The commit a branch name, a published release's tag, a sha or an abbreviated sha (7+) names."""
    if repo.commits.get(ref):
        return max(repo.commits[ref], key=lambda c: c.committer_date).sha
    tagged = next((r.sha for r in repo.releases if r.tag_name == ref and r.sha and not r.draft), None)
    if tagged is not None:
        return tagged
    if re.fullmatch(r"[0-9a-f]{7,40}", ref):
        for line in repo.commits.values():
            for candidate in line:
                if candidate.sha.startswith(ref):
                    return candidate.sha
    return None


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
    items: list[Any],
    repo: FakeRepo,
    base: str,
    rest: str,
    query: dict[str, str],
    sizes: tuple[int, int] = (30, 100),
) -> tuple[list[Any], dict[str, str]]:
    """One page of items and the Link header GitHub would send with it; `sizes` is the page size's
    (default, maximum)."""
    return paginate_at(items, f"{base}/repositories/{repo.id}{rest}", query, sizes)


def paginate_at(
    items: list[Any], at: str, query: dict[str, str], sizes: tuple[int, int] = (30, 100)
) -> tuple[list[Any], dict[str, str]]:
    """One page of items and its Link header, whose URLs are `at` with the query and a page number."""
    default, most = sizes
    per_page = _int(query.get("per_page"), default)
    per_page = default if per_page < 1 else min(per_page, most)
    page = max(_int(query.get("page"), 1), 1)
    last = math.ceil(len(items) / per_page)
    chunk = items[(page - 1) * per_page : page * per_page]
    if last <= 1:
        return chunk, {}

    def url(number: int) -> str:
        params = {k: v for k, v in query.items() if k != "page"} | {"page": str(number)}
        return f"{at}?{urlencode(params)}"

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
