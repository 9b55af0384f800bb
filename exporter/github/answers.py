"""Checks GitHub's answers before PyGithub reads them, so that an odd answer fails instead of becoming a value.

- `202 Accepted` ("still computing"): PyGithub would sleep two seconds and ask again, with no end.
  The request fails (`bad_response`) and the next refresh asks again.
- A redirect left over after `transport` followed what it may (a loop, another host): it fails
  (`moved`) rather than reach PyGithub, which would follow it without the query.
- A `200` from one of the lists the metrics read must be JSON of GitHub's shape with the fields the
  metrics read, typed. Otherwise PyGithub would fetch each item again to fill a missing field
  (lazy completion) or hand the metric a `None`: a completed run whose conclusion is null would
  read as a failed run. `null` passes only where GitHub sends it legitimately (the conclusion of a
  job that has not completed, a run without `run_attempt` in older answers, the `published_at` of a
  draft release).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable
from typing import Any

import requests

from exporter.errors import SourceError
from exporter.github.transport import HttpRequest, Send

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
Check = Callable[[Any], str | None]


def _field(item: dict[str, Any], path: str, kind: type | tuple[type, ...]) -> str | None:
    value: Any = item
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return f"{path} is missing"
        value = value[part]
    if value is None:
        return f"{path} is null"
    if not isinstance(value, kind) or isinstance(value, bool):
        return f"{path} is a {type(value).__name__}"
    return None


def _conclusion(item: dict[str, Any]) -> str | None:
    if "conclusion" not in item:
        return "conclusion is missing"
    if item["conclusion"] is None and item.get("status") == "completed":
        return "conclusion is null on a completed item"
    if item["conclusion"] is not None and not isinstance(item["conclusion"], str):
        return f"conclusion is a {type(item['conclusion']).__name__}"
    return None


def _items(body: Any, key: str | None) -> list[Any] | str:
    items = body.get(key) if key is not None and isinstance(body, dict) else body
    if not isinstance(items, list):
        return f"expected a list{f' under {key!r}' if key else ''}, got {type(items).__name__}"
    return items


def _each(key: str | None, fields: tuple[tuple[str, type | tuple[type, ...]], ...], conclusion: bool) -> Check:
    def check(body: Any) -> str | None:
        items = _items(body, key)
        if isinstance(items, str):
            return items
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                return f"item {index} is a {type(item).__name__}"
            problems = [_field(item, path, kind) for path, kind in fields]
            if conclusion:
                problems.append(_conclusion(item))
            attempt = item.get("run_attempt")
            if attempt is not None and not isinstance(attempt, int):
                problems.append("run_attempt is not a number")
            problem = next((p for p in problems if p is not None), None)
            if problem is not None:
                return f"item {index}: {problem}"
        return None

    return check


_RUNS = _each(
    "workflow_runs",
    (("id", int), ("event", str), ("status", str), ("created_at", str), ("html_url", str), ("jobs_url", str)),
    conclusion=True,
)
_JOBS = _each("jobs", (("name", str), ("status", str)), conclusion=True)
_WORKFLOWS = _each("workflows", (("id", int), ("path", str)), conclusion=False)
_COMMITS = _each(
    None,
    (("sha", str), ("commit.message", str), ("commit.committer.date", str), ("parents", list)),
    conclusion=False,
)
# Deployments, their statuses, releases and comparisons (the DORA keys, exporter/github/deployments.py).
_DEPLOYMENTS = _each(None, (("id", int), ("sha", str), ("created_at", str)), conclusion=False)
_DEPLOYMENT_STATUSES = _each(None, (("state", str), ("created_at", str)), conclusion=False)
_RELEASE_FIELDS = _each(None, (("tag_name", str), ("created_at", str)), conclusion=False)


def _releases(body: Any) -> str | None:
    """Releases: `draft` and `prerelease` are booleans; `published_at` a time, or null on a draft."""
    problem = _RELEASE_FIELDS(body)
    if problem is not None:
        return problem
    for index, item in enumerate(body):
        for flag in ("draft", "prerelease"):
            if not isinstance(item.get(flag), bool):
                return f"item {index}: {flag} is not a boolean"
        published = item.get("published_at", "missing")
        if not (isinstance(published, str) or (published is None and item["draft"])):
            return f"item {index}: published_at is {'missing' if published == 'missing' else 'not a time'}"
    return None


_COMPARED_COMMITS = _each(
    "commits",
    (("sha", str), ("commit.message", str), ("commit.committer.date", str), ("parents", list)),
    conclusion=False,
)


# --- CI flow and pull-request flow (issue 10) ---
def _optional(item: dict[str, Any], name: str, kind: type) -> str | None:
    """A field that older answers may lack or send null, typed when it is there."""
    value = item.get(name)
    if value is not None and type(value) is not kind:  # JSON's types are exact: a bool is no int here
        return f"{name} is a {type(value).__name__}"
    return None


def _window_runs(body: Any) -> str | None:
    """The runs list, with the timings the CI flow metrics read typed where present."""
    problem = _RUNS(body)
    if problem is not None:
        return problem
    for index, item in enumerate(body["workflow_runs"]):
        found = _optional(item, "updated_at", str) or _optional(item, "run_started_at", str)
        if found is not None:
            return f"item {index}: {found}"
    return None


def _attempt(body: Any) -> str | None:
    """One attempt of a run (`.../runs/{id}/attempts/{n}`): its status and, once completed, its conclusion."""
    if not isinstance(body, dict):
        return f"expected an object, got {type(body).__name__}"
    return _field(body, "id", int) or _field(body, "status", str) or _conclusion(body)


_PULL_FIELDS = (("number", int), ("created_at", str), ("updated_at", str), ("base.ref", str))


def _pulls(body: Any) -> str | None:
    """Pull requests: `merged_at` is null until merged and `draft` absent from older answers, typed when set;
    `head.repo` (null once a fork is deleted) is not read."""
    items = _items(body, None)
    if isinstance(items, str):
        return items
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            return f"item {index} is a {type(item).__name__}"
        if "merged_at" not in item:
            return f"item {index}: merged_at is missing"
        problems = [_field(item, path, kind) for path, kind in _PULL_FIELDS]
        problems += [_optional(item, "merged_at", str), _optional(item, "draft", bool)]
        problem = next((p for p in problems if p is not None), None)
        if problem is not None:
            return f"item {index}: {problem}"
    return None


_REPOSITORY_FIELDS = _each(None, (("name", str), ("full_name", str), ("size", int)), conclusion=False)


def _repositories(body: Any) -> str | None:
    """An account's repositories (discovery): `archived` and `fork` are booleans, `topics` (if sent) a list."""
    problem = _REPOSITORY_FIELDS(body)
    if problem is not None:
        return problem
    for index, item in enumerate(body):
        for flag in ("archived", "fork"):
            if not isinstance(item.get(flag), bool):
                return f"item {index}: {flag} is not a boolean"
        if not isinstance(item.get("topics", []), list):
            return f"item {index}: topics is not a list"
    return None


CHECKS: tuple[tuple[re.Pattern[str], Check], ...] = (
    (re.compile(r"/actions/workflows/[^/]+/runs$"), _window_runs),
    (re.compile(r"/actions/runs/\d+/attempts/\d+$"), _attempt),
    (re.compile(r"/pulls$"), _pulls),
    (re.compile(r"/actions/runs/\d+/jobs$"), _JOBS),
    (re.compile(r"/actions/workflows$"), _WORKFLOWS),
    (re.compile(r"/commits$"), _COMMITS),
    (re.compile(r"/deployments$"), _DEPLOYMENTS),
    (re.compile(r"/deployments/\d+/statuses$"), _DEPLOYMENT_STATUSES),
    (re.compile(r"/releases$"), _releases),
    (re.compile(r"/compare/[^/]+\.\.\.[^/]+$"), _COMPARED_COMMITS),
    (re.compile(r"/(?:orgs|users|organizations|user)/[^/]+/repos$"), _repositories),
)


def problem_with(path: str, response: requests.Response) -> SourceError | None:
    """Why PyGithub must not read this answer to `path`, or None when it may."""
    status = response.status_code
    if status == 202:
        return SourceError("bad_response", f"GitHub answered 202 (still computing) for {path}; asking next refresh")
    if status in _REDIRECTS:
        return SourceError("moved", f"GitHub redirected {path} to a place the exporter does not follow")
    if status != 200:
        return None
    check = next((check for pattern, check in CHECKS if pattern.search(path)), None)
    if check is None:
        return None
    try:
        body = response.json()
    except (ValueError, requests.RequestException):
        kind = response.headers.get("content-type", "no content type").split(";")[0]
        return SourceError("bad_response", f"GitHub answered 200 for {path} with a body that is not JSON ({kind})")
    problem = check(body)
    if problem is None:
        return None
    return SourceError("bad_response", f"GitHub's answer for {path} lacks what the metrics read ({problem[:120]})")


def check(request: HttpRequest, send: Send) -> requests.Response:
    """`transport` middleware: raise SourceError for an answer PyGithub must not read."""
    response = send(request)
    problem = problem_with(urllib.parse.urlsplit(request.url).path, response)
    if problem is not None:
        response.close()
        raise problem
    return response
