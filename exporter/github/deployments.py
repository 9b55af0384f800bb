"""Reads a repository's deployments from its configured source, and the commits each one shipped.

Sources (EXPORTER_DEPLOY_SOURCE, per repository EXPORTER_DEPLOY_SOURCES):

- `deployments:ENV`: `GET /repos/{o}/{r}/deployments?environment=ENV` (newest first, pages of 100),
  and for each deployment `GET .../deployments/{id}/statuses` (one page). Its outcome: `success` if
  any status is `success` (GitHub marks an older successful deployment `inactive` once a newer one
  succeeds, so the latest status is not enough), else `failure` if the newest status is `failure`
  or `error`, else `other` if it was made `inactive`, else `pending`. A final outcome is a fact: kept
  in the source's `FactStore`, so the statuses of a finished deployment are read once, ever.
- `workflow:FILE`: the runs of that workflow on the branch, `created>=` the window's first UTC day
  (the URL stays the same all day, so an unchanged list is a free 304), pull request and merge queue
  runs left out. A completed run that concluded `success` is a successful deployment, `failure`,
  `timed_out` or `startup_failure` a failed one, anything else `other`; its time is `updated_at`.
  A re-run counts as its latest attempt (GitHub's run conclusion). The newest successful run before
  the window comes from a second, small list (`status=success`, `created<` that day).
- `releases`: published releases that are neither drafts nor prereleases, from the newest 100; a
  release is a successful deployment at `published_at` of its tag (`target_commitish` is ignored:
  GitHub uses it only to create a tag that does not exist yet). Releases have no failure state.

No deployment at all from the source (no such environment, workflow or release) gives an empty list:
the DORA metrics then have no data, never zeros.

The commits a deployment shipped come from the refresh's commit list when both SHAs are in it (no
request), else from `GET .../compare/{base}...{head}` (GitHub shows at most the newest 250 commits
of a comparison), kept as a fact since two SHAs always compare the same (tags are taken to be
immutable). A comparison GitHub cannot make (404: a SHA no longer exists, unrelated histories) ships
nothing.
"""

from __future__ import annotations

import itertools
import logging
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import github

from exporter.github.facts import FactStore
from exporter.metrics.deploy_source import DeploySource
from exporter.metrics.repo_data import Commit, Deployment, DeploymentState

logger = logging.getLogger(__name__)

MAX_DEPLOYMENTS_READ = 300  # 3 pages: deployments in the window plus the older ones examined
MAX_OLDER_EXAMINED = 10  # before the window, looking for the previous successful deployment
MAX_STATUSES_READ = 100  # one page: a deployment has a handful
MAX_RUNS_READ = 500
MAX_RELEASES_READ = 100
COMPARE_LIMIT = 250  # commits GitHub shows in a comparison asked for without paging
MAX_MESSAGE_KEPT = 500  # characters of a compared commit's message kept in the fact store
NOT_DEPLOY_EVENTS = frozenset({"pull_request", "pull_request_target", "merge_group"})
FAILED_RUN = frozenset({"failure", "timed_out", "startup_failure"})
FAILED_STATUS = frozenset({"failure", "error"})


class Pages(Protocol):
    def __call__(self, url: str, params: dict[str, Any], list_item: str = "items") -> Iterable[dict[str, Any]]: ...


def timestamp(text: str) -> datetime:
    """GitHub's ISO 8601 time (`2026-11-20T12:00:00Z`) as an aware datetime."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class DeploymentReader:
    """One repository's deployments for one refresh; requests go through the session's `pages` and `get`."""

    def __init__(
        self,
        repo: str,
        repo_url: str,
        source: DeploySource,
        branch: str,
        window: tuple[datetime, datetime],
        io: tuple[Pages, Callable[[str], Any]],
        facts: FactStore,
    ) -> None:
        self._repo, self._url, self._source, self._branch = repo, repo_url, source, branch
        self._since, self._now = window
        self._pages, self._get = io
        self._facts = facts

    def deployments(self) -> tuple[Deployment, ...]:
        """Newest first: the window's, then older ones down to the previous successful one (bounded)."""
        if self._source.kind == "workflow":
            return self._from_workflow(self._source.name)
        if self._source.kind == "releases":
            return self._from_releases()
        return self._from_deployments(self._source.name)

    # --- GitHub's Deployments API ---------------------------------------------------------

    def _from_deployments(self, environment: str) -> tuple[Deployment, ...]:
        params = {"environment": environment, "per_page": 100}
        found: list[Deployment] = []
        older = 0
        for item in itertools.islice(self._pages(f"{self._url}/deployments", params), MAX_DEPLOYMENTS_READ):
            created = timestamp(item["created_at"])
            state, finished = self._outcome(int(item["id"]))
            found.append(Deployment(str(item["sha"]), created, state, finished, created >= self._since))
            if created < self._since:
                older += 1
                if state == "success" or older >= MAX_OLDER_EXAMINED:
                    break
        return tuple(found)

    def _outcome(self, deployment_id: int) -> tuple[DeploymentState, datetime | None]:
        key = ("deployment-outcome", self._repo.casefold(), deployment_id)
        return self._facts.remember(key, lambda: self._read_outcome(deployment_id), lambda o: o[0] != "pending")

    def _read_outcome(self, deployment_id: int) -> tuple[DeploymentState, datetime | None]:
        url = f"{self._url}/deployments/{deployment_id}/statuses"
        statuses = list(itertools.islice(self._pages(url, {"per_page": 100}), MAX_STATUSES_READ))  # newest first
        succeeded = [timestamp(s["created_at"]) for s in statuses if s["state"] == "success"]
        if succeeded:
            return "success", min(succeeded)
        newest = next((s for s in statuses if s["state"] != "inactive"), None)
        if newest is not None and newest["state"] in FAILED_STATUS:
            return "failure", timestamp(newest["created_at"])
        if any(s["state"] == "inactive" for s in statuses):
            return "other", timestamp(statuses[0]["created_at"])
        return "pending", None

    # --- a deploy workflow's runs ------------------------------------------------------------

    def _from_workflow(self, workflow: str) -> tuple[Deployment, ...]:
        day = self._since.replace(hour=0, minute=0, second=0, microsecond=0).strftime("%Y-%m-%d")
        url = f"{self._url}/actions/workflows/{urllib.parse.quote(workflow, safe='')}/runs"
        recent = {"branch": self._branch, "created": f">={day}", "per_page": 100}
        before = {"branch": self._branch, "status": "success", "created": f"<{day}", "per_page": 10}
        try:
            found = [self._run(run, self._since) for run in self._deploy_runs(url, recent, MAX_RUNS_READ)]
            if not any(d.state == "success" and d.created_at < self._since for d in found):
                found += [self._run(run, self._since) for run in self._deploy_runs(url, before, 10)][:1]
        except github.UnknownObjectException:
            logger.warning(
                "%s: no workflow %s (EXPORTER_DEPLOY_SOURCE(S) workflow:%s): no deployment data",
                self._repo,
                workflow,
                workflow,
            )
            return ()
        return tuple(found)

    def _deploy_runs(self, url: str, params: dict[str, Any], most: int) -> Iterable[dict[str, Any]]:
        runs = itertools.islice(self._pages(url, params, "workflow_runs"), most)
        return (run for run in runs if run["event"] not in NOT_DEPLOY_EVENTS)

    @staticmethod
    def _run(run: dict[str, Any], since: datetime) -> Deployment:
        created = timestamp(run["created_at"])
        if run["status"] != "completed":
            return Deployment(str(run["head_sha"]), created, "pending", None, created >= since)
        conclusion = run["conclusion"]
        state: DeploymentState = (
            "success" if conclusion == "success" else "failure" if conclusion in FAILED_RUN else "other"
        )
        return Deployment(str(run["head_sha"]), created, state, timestamp(run["updated_at"]), created >= since)

    # --- releases ---------------------------------------------------------------------------

    def _from_releases(self) -> tuple[Deployment, ...]:
        published = []
        for item in itertools.islice(self._pages(f"{self._url}/releases", {"per_page": 100}), MAX_RELEASES_READ):
            if item["draft"] or item["prerelease"] or not item.get("published_at"):
                continue
            at = timestamp(item["published_at"])
            published.append(Deployment(str(item["tag_name"]), at, "success", at, at >= self._since))
        published.sort(key=lambda d: d.created_at, reverse=True)  # the list is ordered by creation
        inside = [d for d in published if d.in_window]
        return tuple(inside + [d for d in published if not d.in_window][:1])

    # --- what a deployment shipped --------------------------------------------------------

    def shipped(self, head: str, base: str, history: Callable[[], Sequence[Commit]]) -> tuple[Commit, ...]:
        """Commits reachable from `head` and not from `base`, newest first: from `history` (the branch's
        window, newest first) when both are in it, else from GitHub's comparison (a fact)."""
        if head == base:
            return ()
        if _is_sha(head) and _is_sha(base):
            commits = history()
            index = {commit.sha: position for position, commit in enumerate(commits)}
            if head in index and base in index:
                return tuple(commits[index[head] : index[base]])  # empty when head is older: a rollback
        key = ("compare", self._repo.casefold(), base, head)
        return self._facts.remember(key, lambda: self._compare(base, head), lambda _: True)

    def _compare(self, base: str, head: str) -> tuple[Commit, ...]:
        spec = f"{urllib.parse.quote(base, safe='')}...{urllib.parse.quote(head, safe='')}"
        try:
            body = self._get(f"{self._url}/compare/{spec}")
        except github.UnknownObjectException:
            logger.info("%s: GitHub cannot compare %s...%s: that deployment counts no commit", self._repo, base, head)
            return ()
        commits = [
            Commit(
                sha=str(item["sha"]),
                message=str(item["commit"]["message"] or "")[:MAX_MESSAGE_KEPT],
                committed_at=timestamp(item["commit"]["committer"]["date"]),
                parent_count=len(item["parents"]),
            )
            for item in body["commits"][-COMPARE_LIMIT:]
        ]
        return tuple(reversed(commits))


def _is_sha(ref: str) -> bool:
    return len(ref) == 40 and all(char in "0123456789abcdef" for char in ref.lower())


def window(now: datetime, lookback_days: int) -> tuple[datetime, datetime]:
    """The lookback window ending at `now`."""
    return now - timedelta(days=lookback_days), now
