"""A repository's pull requests against the branch, for the pull-request flow metrics (`exporter/metrics/prs.py`).

Two lists, each read at most once a refresh by `RepoSession`: the open pull requests, and the closed ones
by last update until one predates the window. Requests go through the session's `pages` (Link pages
followed by PyGithub, inside the refresh's deadline, conditional through the ETag cache).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from exporter.github.deployments import timestamp
from exporter.metrics.repo_data import MergedPullRequests, OpenPullRequests, PullRequest

logger = logging.getLogger(__name__)

Pages = Callable[[str, dict[str, Any]], Iterable[dict[str, Any]]]
PULLS_PER_PAGE = 100
# Pull requests read per list (10 pages): 1,000 open against one branch, or closed in one window, is past any
# repository this watches; past it the counts are lower bounds (logged) rather than a refresh-long crawl.
MAX_PULLS_READ = 1000


def open_pulls(pages: Pages, url: str, repo: str, branch: str, now: datetime) -> OpenPullRequests:
    """Open pull requests against the branch (default order: newest created first)."""
    params = {"state": "open", "base": branch, "per_page": PULLS_PER_PAGE}
    items = list(itertools.islice(pages(url, params), MAX_PULLS_READ))
    if len(items) == MAX_PULLS_READ:
        logger.warning("%s: read the first %d open pull requests only", repo, MAX_PULLS_READ)
    return OpenPullRequests(now, tuple(pull_request(item) for item in items))


def merged_pulls(pages: Pages, url: str, repo: str, branch: str, now: datetime, days: int) -> MergedPullRequests:
    """Pull requests against the branch merged in the window: the closed ones by last update, newest
    first, until one was last updated before the window (merging updates a pull request, so every
    later one was merged before the window too)."""
    start = now - timedelta(days=days)
    params = {"state": "closed", "base": branch, "sort": "updated", "direction": "desc", "per_page": PULLS_PER_PAGE}
    merged = []
    for read, item in enumerate(pages(url, params), start=1):
        pull = pull_request(item)
        if pull.updated_at < start:
            break
        if pull.merged_at is not None and start <= pull.merged_at < now:
            merged.append(pull)
        if read == MAX_PULLS_READ:
            logger.warning("%s: read the %d pull requests closed last only", repo, MAX_PULLS_READ)
            break
    return MergedPullRequests(start, now, tuple(merged))


def pull_request(item: dict[str, Any]) -> PullRequest:
    """A pull request from a list item (a fork's too: `head.repo` is not read, and is null once the fork is gone)."""
    return PullRequest(
        number=int(item["number"]),
        created_at=timestamp(item["created_at"]),
        updated_at=timestamp(item["updated_at"]),
        merged_at=timestamp(item["merged_at"]) if item.get("merged_at") else None,
        draft=bool(item.get("draft", False)),
    )
