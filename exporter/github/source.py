"""Reads GitHub through PyGithub: with `transport` (the transport under it), the only module
that imports `github`.

PyGithub makes every request, follows `Link` pages and raises its typed errors; list items are kept
as GitHub's JSON and turned into our small dataclasses (building PyGithub's object tree for each
item was most of a refresh's CPU time).

One `RepoSession` per repository per refresh fetches each dataset at most once (a failure is
remembered too, so the two commit metrics share one list and one error). Every request is
bounded: an explicit timeout, a small urllib3 retry budget with capped backoff and no waiting on
rate limits, and a refresh deadline checked between pages. Around every request (outermost first):
a refused token is never sent again (and each refresh's first request with a token goes alone),
`rate_limit` keeps requests inside GitHub's limits without sleeping, `pacing` spreads them under the
secondary limits (a bounded wait, which requests refused above never take), and (innermost) `answers`
fails an odd answer before PyGithub reads it or the ETag cache keeps it.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import github
import requests
from github import Auth, Github, GithubException
from github.PaginatedList import PaginatedList
from urllib3.util.retry import Retry

from exporter import __version__, changes, schedules, tracing
from exporter.changes import Action, ChangeSignals, Kind
from exporter.errors import SourceError
from exporter.github import answers, etag_cache, held, pulls, transport
from exporter.github.credentials import Credentials
from exporter.github.deployments import DeploymentReader, timestamp, window
from exporter.github.facts import FactStore
from exporter.github.held import CiRead, HeldRepo, HeldStore, RunRef
from exporter.github.pacing import PacingStats, RequestPacer
from exporter.github.rate_limit import RateLimitSnapshot, RateLimitState, retry_after_seconds
from exporter.metrics.registry import default_registry
from exporter.metrics.repo_data import (
    CiRun,
    CiRunWindow,
    Commit,
    Deployment,
    Job,
    MergedPullRequests,
    OpenPullRequests,
    PullRequest,
    RunAttempt,
    WorkflowRun,
)
from exporter.settings import Settings

logger = logging.getLogger(__name__)

SKIPPED_RUN_CONCLUSIONS = frozenset({"cancelled", "skipped", "stale"})
# The events whose runs test the branch itself. A `pull_request` run tests a merge of some other head
# (a fork's branch is often also named `main`, and the runs list's `branch=` matches it); a
# `merge_group` run tests a candidate on `gh-readonly-queue/<branch>/...` whose failure keeps it off
# the branch; `workflow_run`, `repository_dispatch` and the like are not CI.
BRANCH_EVENTS = frozenset({"push", "schedule", "workflow_dispatch"})
# Runs read, newest first, looking for a counted one (the first page): past these the
# newest counted run is older than a hundred runs of others (PRs, cancelled pushes), too old to say
# how the branch is now, and reading further would cost a page a refresh for as long as it lasts.
MAX_RUNS_READ = 100
MAX_WORKFLOWS_NAMED = 20  # in the message of an unknown workflow
_RETRYABLE_STATUS = (500, 502, 503, 504)
# The branch's completed runs are read a page of 100 at a time down to the window's start: one page for
# most repositories, and the newest counted run among the first MAX_RUNS_READ however old it is.
WINDOW_RUNS_PER_PAGE = 100
# GitHub answers a filtered runs list with at most 1,000 runs ("for each search"): 10 pages of 100 is all it gives.
MAX_WINDOW_RUNS = 1000
FAILED_ATTEMPT_CONCLUSIONS = frozenset({"failure", "timed_out"})
# A repository never read costs about this many points a kind of data an enabled metric reads (the runs, the
# commits, the two pull-request lists, the deployments and their statuses); a refresh's first reads may take
# FIRST_READ_SHARE of the points left (`_admit_first_read`).
FIRST_READ_POINTS: Mapping[str, int] = {"ci.": 1, "commits.": 1, "prs.": 2, "dora.": 3}
FIRST_READ_SHARE = 0.5
# Past the count where every CI is probed, the share of a refresh's request budget (points a minute x TTL)
# that reads of CI workflow files may take (`_admit_schedule_read`).
SCHEDULE_READ_SHARE = 0.1
# Earlier attempts read per run that succeeded on a re-run, newest first, stopping at the first failed one:
# past three re-runs of one run the answer is the same (a failure is almost always the attempt just before),
# and the bound keeps a run re-run fifty times from costing fifty requests.
MAX_EARLIER_ATTEMPTS_READ = 3
T = TypeVar("T")


def _retry_policy(retries: int) -> Retry:
    """Retry connection faults and 5xx a few times with capped backoff; never wait on rate limits."""
    return Retry(
        total=retries,
        connect=retries,
        read=min(retries, 1),
        status=retries,
        backoff_factor=0.25,
        backoff_max=2.0,
        status_forcelist=_RETRYABLE_STATUS,
        allowed_methods=frozenset({"GET"}),
        respect_retry_after_header=False,
        raise_on_status=False,
    )


def classify(exc: BaseException) -> SourceError:
    """Turn what PyGithub or requests raised into a SourceError with a bounded reason."""
    if isinstance(exc, SourceError):
        return exc
    if isinstance(exc, github.BadCredentialsException) or (isinstance(exc, GithubException) and exc.status == 401):
        return SourceError("unauthorized", "GitHub refused the token (401)")
    if isinstance(exc, github.RateLimitExceededException) or (isinstance(exc, GithubException) and exc.status == 429):
        return SourceError("rate_limited", f"GitHub rate limit exceeded ({exc.status}{_rate_limit_wait(exc)})")
    if isinstance(exc, GithubException):
        status = exc.status
        message = exc.message or (exc.data.get("message") if isinstance(exc.data, dict) else None)
        detail = f"GitHub answered {status}" + (f": {str(message)[:200]}" if message else "")
        if status == 404:
            return SourceError("not_found", detail)
        if status == 409:
            return SourceError("empty_repository", detail)
        if status in (301, 302, 307, 308):
            return SourceError("moved", detail)
        if status == 403:
            return SourceError("client_error", detail)
        if status >= 500:
            return SourceError("server_error", detail)
        if status == 200:  # PyGithub raises with status 200 on a body it cannot parse
            return SourceError("bad_response", "GitHub answered 200 with a body that is not valid JSON")
        return SourceError("client_error", detail)
    if isinstance(exc, requests.Timeout) or "timed out" in str(exc).lower():
        return SourceError("timeout", f"GitHub did not answer in time ({type(exc).__name__})")
    if isinstance(exc, requests.ConnectionError):
        return SourceError("connection", f"could not connect to GitHub ({type(exc).__name__})")
    if isinstance(exc, requests.RequestException):
        return SourceError("connection", f"HTTP error talking to GitHub ({type(exc).__name__})")
    if isinstance(exc, KeyError | TypeError | ValueError | AttributeError | AssertionError):
        return SourceError("bad_response", f"unexpected GitHub answer ({type(exc).__name__}: {str(exc)[:120]})")
    return SourceError("bad_response", f"unexpected error reading GitHub ({type(exc).__name__})")


def _rate_limit_wait(exc: GithubException) -> str:
    """How long GitHub asked to wait, from a rate-limit answer's headers ("" when it did not say)."""
    headers = {str(k).lower(): str(v) for k, v in (exc.headers or {}).items()}
    wait = retry_after_seconds(headers.get("retry-after"), time.time())
    if wait is not None:
        return f"; Retry-After {wait:.0f}s"
    reset = headers.get("x-ratelimit-reset", "")
    if headers.get("x-ratelimit-remaining") == "0" and reset.isdigit():
        return f"; resets at {datetime.fromtimestamp(int(reset), UTC):%Y-%m-%dT%H:%M:%SZ}"
    return ""


class _Once:
    """Computes a value once; a failure is remembered and raised again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done = False
        self._value: Any = None
        self._error: SourceError | None = None

    def get(self, compute: Callable[[], T]) -> T:
        with self._lock:
            if not self._done:
                try:
                    self._value = compute()
                except Exception as exc:
                    self._error = classify(exc)
                self._done = True
            if self._error is not None:
                raise self._error
            return self._value  # type: ignore[no-any-return]


class RepoSession:
    """One repository's data for one refresh (implements `RepoData`)."""

    def __init__(
        self,
        client: Github,
        repo: str,
        settings: Settings,
        now: datetime,
        deadline: float,
        hooks: transport.HttpHooks,
        monotonic: Callable[[], float] = time.monotonic,
        stopping: threading.Event | None = None,
        facts: FactStore | None = None,
        held: HeldRepo | None = None,
        actions: Mapping[Kind, Action] | None = None,
        on_failed_read: Callable[[Kind], None] = lambda _: None,
        read_schedule: bool = False,
    ) -> None:
        self._client = client
        self._hooks = hooks
        self._repo_name = repo
        self._settings = settings
        self._now = now
        self._deadline = deadline
        self._monotonic = monotonic
        self._stopping = stopping if stopping is not None else threading.Event()
        self._facts = facts if facts is not None else FactStore()  # shared by the source's sessions
        # What was read before and what to ask again (exporter/changes.py); without them, everything is read.
        self._held = held
        self._actions = actions or {}
        self._on_failed_read = on_failed_read
        self._read_schedule = read_schedule  # read the CI workflow file's crons with the runs
        self._schedule = _Once()
        self._run = _Once()  # the CI runs (a `CiRead`)
        self._latest_run = _Once()
        self._commits = _Once()
        # DORA keys: the deployments, and the commits each pair of deployments shipped (by SHAs).
        self._deployments = _Once()
        self._shipped: dict[tuple[str, str], _Once] = {}
        self._shipped_lock = threading.Lock()
        # CI flow and pull-request flow (issue 10)
        self._rerun_attempts = _Once()
        self._open_pulls = _Once()
        self._merged_pulls = _Once()

    @property
    def repo(self) -> str:
        return self._repo_name

    @property
    def settings(self) -> Settings:
        return self._settings

    def latest_ci_run(self) -> WorkflowRun | None:
        with transport.using(self._hooks):
            return self._latest_run.get(self._fetch_latest_run)

    def recent_commits(self) -> Sequence[Commit]:
        with transport.using(self._hooks):
            read = self._commits.get(lambda: self._held_or_read("commits", lambda _: self._fetch_commits()))
        return held.commits_since(read, self._now - timedelta(days=self._settings.lookback_days))

    def deployments(self) -> Sequence[Deployment]:
        with transport.using(self._hooks):
            read = self._deployments.get(
                lambda: self._held_or_read("deployments", lambda _: self._deployment_reader().deployments())
            )
        return held.deployments_since(read, window(self._now, self._settings.lookback_days)[0])

    def _held_or_read(self, dataset: str, read: Callable[[str | None], T | None]) -> T:
        """`dataset` as held when the plan holds it, else read (`read` gets the ETag of a conditional request
        when the plan probes it, and answers None for a 304: the held data is still current)."""
        kept = getattr(self._held, dataset) if self._held is not None else None
        action: Action = self._actions.get(held.DATASETS[dataset], "read") if kept is not None else "read"
        if action == "hold":
            return kept  # type: ignore[return-value]
        conditional = action == "probe" and self._settings.conditional_requests
        etag = kept.etag if conditional and isinstance(kept, CiRead) else None
        try:
            value = read(etag)
        except Exception:
            self._on_failed_read(held.DATASETS[dataset])  # asked again next refresh, however it was marked
            raise
        if self._held is not None:
            if value is not None:
                setattr(self._held, dataset, value)
            self._held.confirm(dataset, self._now.timestamp())
        return value if value is not None else kept  # type: ignore[return-value]

    def shipped_commits(self, deployment: Deployment, previous: Deployment) -> Sequence[Commit]:
        with self._shipped_lock:
            once = self._shipped.setdefault((previous.sha, deployment.sha), _Once())
        with transport.using(self._hooks):
            return once.get(
                lambda: self._deployment_reader().shipped(deployment.sha, previous.sha, self.recent_commits)
            )

    def _deployment_reader(self) -> DeploymentReader:
        return DeploymentReader(
            self._repo_name,
            self._client.get_repo(self._repo_name).url,
            self._settings.deploy_source_for(self._repo_name),
            self._settings.branch,
            window(self._now, self._settings.lookback_days),
            (self._pages, self._get_json),
            self._facts,
        )

    def _get_json(self, url: str) -> Any:
        """One GET that is not a list (a run attempt, a comparison), within the refresh's deadline."""
        self._raise_if_stopping()
        if self._monotonic() > self._deadline:
            raise SourceError("timeout", "the refresh deadline passed before a request to GitHub")
        return self._client.requester.requestJsonAndCheck("GET", url)[1]

    def ci_runs(self) -> CiRunWindow:
        with transport.using(self._hooks):
            read = self._ci()
        return read.window(self._now - timedelta(days=self._settings.lookback_days), self._now)

    def ci_rerun_attempts(self) -> Sequence[RunAttempt]:
        with transport.using(self._hooks):
            return self._rerun_attempts.get(self._fetch_rerun_attempts)

    def open_pull_requests(self) -> OpenPullRequests:
        def read(_: str | None) -> tuple[PullRequest, ...]:
            branch = self._settings.branch
            return pulls.open_pulls(self._pages, self._pulls_url(), self._repo_name, branch, self._now).pulls

        with transport.using(self._hooks):
            return held.open_pulls_at(self._open_pulls.get(lambda: self._held_or_read("open_pulls", read)), self._now)

    def merged_pull_requests(self) -> MergedPullRequests:
        def read(_: str | None) -> tuple[PullRequest, ...]:
            days = self._settings.lookback_days
            return pulls.merged_pulls(
                self._pages, self._pulls_url(), self._repo_name, self._settings.branch, self._now, days
            ).pulls

        with transport.using(self._hooks):
            merged = self._merged_pulls.get(lambda: self._held_or_read("merged_pulls", read))
        return held.merged_pulls_at(merged, self._now, self._settings.lookback_days)

    def _within_deadline(self, items: Iterable[T]) -> Iterable[T]:
        self._raise_if_stopping()  # before the first page too: a stopping exporter sends no new request
        for item in items:
            if self._monotonic() > self._deadline:
                raise SourceError("timeout", "the refresh deadline passed while paging through GitHub results")
            self._raise_if_stopping()
            yield item

    def _raise_if_past_deadline(self) -> None:
        self._raise_if_stopping()
        if self._monotonic() > self._deadline:
            raise SourceError("timeout", "the refresh deadline passed while paging through GitHub results")

    def _raise_if_stopping(self) -> None:
        if self._stopping.is_set():
            raise SourceError("shutdown", "the exporter is shutting down: no further request to GitHub")

    def _pages(self, url: str, params: dict[str, Any], list_item: str = "items") -> Iterable[dict[str, Any]]:
        """Every item of a paginated list, as GitHub's JSON, pages followed by PyGithub (Link headers)."""
        items: PaginatedList[Any] = PaginatedList(
            _JsonItem,  # PaginatedList calls it as it would a GithubObject class
            self._client.requester,
            url,
            params,
            list_item=list_item,
        )
        for item in self._within_deadline(items):
            yield item.data

    def _fetch_latest_run(self) -> WorkflowRun | None:
        newest = self._ci().newest
        if newest is None:
            return None
        jobs: tuple[Job, ...] = ()
        if self._settings.required_jobs and newest.conclusion == "success":  # else the run's conclusion decides
            jobs = self._facts.remember(  # the jobs of a completed attempt never change
                ("jobs", self._repo_name.casefold(), newest.id, newest.run_attempt),
                lambda: tuple(
                    Job(name=str(job["name"]), status=str(job["status"]), conclusion=job["conclusion"])
                    for job in self._pages(newest.jobs_url, {"filter": "latest", "per_page": 100}, "jobs")
                ),
                final=lambda _: True,
            )
        return WorkflowRun(
            id=newest.id,
            conclusion=newest.conclusion,
            run_attempt=newest.run_attempt,
            created_at=newest.created_at,
            html_url=newest.html_url,
            jobs=jobs,
        )

    def _ci(self) -> CiRead:
        """The branch's completed CI runs: held, held after a conditional request answered 304, or read."""
        read = self._run.get(lambda: self._held_or_read("ci", self._read_ci))
        if self._read_schedule:
            self._schedule.get(self._update_schedule)
        return read

    def _update_schedule(self) -> None:
        """Read the CI workflow file's crons into what is held (exporter/schedules.py). A file that is not a
        workflow is held as unreadable, with a warning naming the problem, until the next push; a failed
        request leaves the schedule as it was, read again next refresh. Neither fails a metric: without crons,
        the runs read decide when the branch's CI is probed."""
        if self._held is None:
            return
        path = f".github/workflows/{self._settings.ci_workflow}"
        try:
            self._raise_if_past_deadline()
            url = f"{self._client.get_repo(self._repo_name).url}/contents/{path}"
            body = self._client.requester.requestJsonAndCheck("GET", url, {"ref": self._settings.branch})[1]
            text = base64.b64decode(str(body["content"])).decode()
        except Exception as exc:  # the schedule only saves requests: without it the CI is probed as before
            logger.info("%s: %s not read (%s), its crons read again next refresh", self._repo_name, path, classify(exc))
            return
        try:
            self._held.schedule = held.Schedule(
                schedules.crons_in(text, f"{self._repo_name}:{path}"), self._now.timestamp()
            )
        except ValueError as exc:
            logger.warning("%s; its CI is probed while scheduled runs are among its runs", exc)
            self._held.schedule = held.Schedule(None, self._now.timestamp())

    def _read_ci(self, etag: str | None) -> CiRead | None:
        """The completed runs of the CI workflow on the branch, newest first, down to the window's start (at
        least one page, so the newest counted run is found even when it is older); None when `etag` is
        given and GitHub answered 304. The URL carries no date, so the conditional request stays valid;
        the exporter keeps the ETag itself (`Cache-Control: no-store`: a page of runs is too big for the
        ETag cache at scale)."""
        start = self._now - timedelta(days=self._settings.lookback_days)
        workflow = self._client.get_repo(self._repo_name).get_workflow(self._settings.ci_workflow)
        params: dict[str, Any] = {
            "branch": self._settings.branch,
            "status": "completed",
            "per_page": WINDOW_RUNS_PER_PAGE,
        }
        items: list[dict[str, Any]] = []
        new_etag: str | None = None
        for page in range(1, MAX_WINDOW_RUNS // WINDOW_RUNS_PER_PAGE + 1):
            self._raise_if_past_deadline()
            headers = {"Cache-Control": etag_cache.NO_STORE}
            if page == 1 and etag is not None:
                headers["If-None-Match"] = etag
            try:
                answer_headers, body = self._client.requester.requestJsonAndCheck(
                    "GET", f"{workflow.url}/runs", params | ({"page": page} if page > 1 else {}), headers
                )
            except github.UnknownObjectException:
                self._raise_unless_repo_exists()
                raise self._unknown_workflow() from None
            if body is None and page == 1 and etag is not None:
                return None  # 304: nothing changed
            if page == 1:
                new_etag = {str(k).lower(): str(v) for k, v in answer_headers.items()}.get("etag")
            runs = body["workflow_runs"]
            items.extend(runs)
            if len(runs) < WINDOW_RUNS_PER_PAGE or timestamp(runs[-1]["created_at"]) < start:
                break
        complete = len(items) < MAX_WINDOW_RUNS or timestamp(items[-1]["created_at"]) < start
        if not complete:
            logger.warning(
                "%s: read the newest %d runs of %s on %s only: the CI flow counts are lower bounds",
                self._repo_name,
                MAX_WINDOW_RUNS,
                self._settings.ci_workflow,
                self._settings.branch,
            )
        counted = (item for item in items[:MAX_RUNS_READ] if item["event"] in BRANCH_EVENTS)
        newest = next((item for item in counted if item["conclusion"] not in SKIPPED_RUN_CONCLUSIONS), None)
        if newest is None and len(items) >= MAX_RUNS_READ:
            logger.warning(
                "%s: none of the newest %d completed runs of %s on %s is a %s run that was not %s: no CI data",
                self._repo_name,
                MAX_RUNS_READ,
                self._settings.ci_workflow,
                self._settings.branch,
                "/".join(sorted(BRANCH_EVENTS)),
                "/".join(sorted(SKIPPED_RUN_CONCLUSIONS)),
            )
        return CiRead(
            etag=new_etag,
            newest=_run_ref(newest) if newest is not None else None,
            runs=tuple(
                _ci_run(item)
                for item in items
                if item["event"] in BRANCH_EVENTS
                and item["status"] == "completed"
                and start <= timestamp(item["created_at"])  # the window's end is applied when used
            ),
            complete=complete,
            newest_scheduled_at=max(
                (timestamp(item["created_at"]) for item in items if item["event"] == "schedule"), default=None
            ),
        )

    def _fetch_rerun_attempts(self) -> list[RunAttempt]:
        """Earlier attempts of each window run that succeeded on a re-run, newest first, to the first that
        failed (at most MAX_EARLIER_ATTEMPTS_READ a run); kept as facts, since a finished attempt never changes."""
        attempts: list[RunAttempt] = []
        repository_url = self._client.get_repo(self._repo_name).url
        for run in self.ci_runs().runs:
            if run.conclusion != "success" or run.run_attempt < 2:
                continue
            for number in range(run.run_attempt - 1, max(0, run.run_attempt - 1 - MAX_EARLIER_ATTEMPTS_READ), -1):
                url = f"{repository_url}/actions/runs/{run.id}/attempts/{number}"
                conclusion = self._facts.remember(
                    ("run_attempt_conclusion", self._repo_name.casefold(), run.id, number),
                    functools.partial(self._attempt_conclusion, url),
                    final=lambda answer: answer is not None,
                )
                attempts.append(RunAttempt(run.id, number, conclusion))
                if conclusion in FAILED_ATTEMPT_CONCLUSIONS:
                    break
        return attempts

    def _attempt_conclusion(self, url: str) -> str | None:
        """The conclusion of one run attempt (None while it has not completed)."""
        answer = self._get_json(url)
        return str(answer["conclusion"]) if answer["status"] == "completed" and answer["conclusion"] else None

    def _pulls_url(self) -> str:
        return f"{self._client.get_repo(self._repo_name).url}/pulls"

    def _raise_unless_repo_exists(self) -> None:
        """A 404 on the runs list names an unknown workflow, unless the repository itself is unknown."""
        repository = self._client.get_repo(self._repo_name)
        try:
            repository.update()  # one GET, paid only on this rare path
        except github.UnknownObjectException:
            raise SourceError(
                "not_found",
                f"repository {self._repo_name} (EXPORTER_REPOS) not found: unknown, or not visible to the token",
            ) from None

    def _unknown_workflow(self) -> SourceError:
        """The failure of a workflow whose runs GitHub does not know, naming the workflows the repository has."""
        workflow, repo = self._settings.ci_workflow, self._repo_name
        try:  # one more page, paid only on this rare path
            url = f"{self._client.get_repo(repo).url}/actions/workflows"
            items = list(itertools.islice(self._pages(url, {"per_page": 100}, "workflows"), 100))
            names = sorted({str(item["path"]).rsplit("/", 1)[-1] for item in items})
            known = set(names) | {str(item["id"]) for item in items}
        except Exception as exc:  # the list only makes the message useful: failing to read it fails nothing more
            return SourceError(
                "not_found",
                f"workflow {workflow} (EXPORTER_CI_WORKFLOW) not found in {repo} "
                f"(its workflows could not be listed: {classify(exc).reason})",
            )
        if workflow in known:
            return SourceError("not_found", f"GitHub answered 404 for the runs of {workflow} in {repo}, which lists it")
        listed = ", ".join(names[:MAX_WORKFLOWS_NAMED]) + (", …" if len(names) > MAX_WORKFLOWS_NAMED else "")
        return SourceError(
            "not_found",
            f"workflow {workflow} (EXPORTER_CI_WORKFLOW) not found in {repo}; "
            + (f"its workflows: {listed}" if names else "it has no workflows"),
        )

    def _fetch_commits(self) -> tuple[Commit, ...]:
        """The branch's commits since the start of the window's first UTC day (the window is applied when used)."""
        since = self._now - timedelta(days=self._settings.lookback_days)
        # Ask from the start of that UTC day, so the URL (and a conditional request on it) stays the
        # same all day; the exact window is applied below.
        asked = since.replace(hour=0, minute=0, second=0, microsecond=0)
        repository = self._client.get_repo(self._repo_name)
        params = {"sha": self._settings.branch, "since": asked.strftime("%Y-%m-%dT%H:%M:%SZ"), "per_page": 100}
        commits = []
        for item in self._pages(f"{repository.url}/commits", params):
            committer = item["commit"]["committer"]
            if not committer or not committer.get("date"):
                raise SourceError("bad_response", f"commit {str(item['sha'])[:12]} has no committer date")
            committed_at = timestamp(committer["date"])
            if committed_at < asked:
                continue
            commits.append(
                Commit(
                    sha=str(item["sha"]),
                    message=str(item["commit"]["message"] or ""),
                    committed_at=committed_at,
                    parent_count=len(item["parents"]),
                )
            )
        return tuple(commits)


def _run_ref(item: dict[str, Any]) -> RunRef:
    return RunRef(
        id=int(item["id"]),
        conclusion=item["conclusion"],
        run_attempt=int(item.get("run_attempt") or 1),
        created_at=timestamp(item["created_at"]),
        html_url=str(item["html_url"]),
        jobs_url=str(item["jobs_url"]),
    )


def _ci_run(item: dict[str, Any]) -> CiRun:
    """A counted completed run; a run without `run_started_at` (older answers) started when it was created."""
    if not item.get("updated_at"):
        raise SourceError("bad_response", f"run {item['id']} has no updated_at")
    created = timestamp(item["created_at"])
    return CiRun(
        id=int(item["id"]),
        conclusion=str(item["conclusion"]),
        run_attempt=int(item.get("run_attempt") or 1),
        created_at=created,
        started_at=timestamp(item["run_started_at"]) if item.get("run_started_at") else created,
        updated_at=timestamp(item["updated_at"]),
    )


class _JsonItem:
    """One list item kept as GitHub's JSON: building PyGithub objects (each run carries two full
    repositories, each commit three users) was most of a refresh's CPU time."""

    __slots__ = ("data",)

    def __init__(self, requester: object, headers: object, attributes: dict[str, Any], *_: object) -> None:
        self.data = attributes


class GitHubSource:
    """Makes a `RepoSession` per repository per refresh, with a bounded PyGithub client."""

    def __init__(
        self,
        settings: Settings,
        tokens: Credentials,
        monotonic: Callable[[], float] = time.monotonic,
        hooks: transport.HttpHooks | None = None,
        wall: Callable[[], float] = time.time,
        stopping: threading.Event | None = None,
        signals: ChangeSignals | None = None,
        pacing_clock: Callable[[], float] | None = None,
        pacing_sleep: Callable[[float], None] | None = None,
    ) -> None:
        self._settings = settings
        self._tokens = tokens
        # What each repository's last reads found, and what changed since (exporter/changes.py).
        self.held = HeldStore()
        self.signals = signals if signals is not None else ChangeSignals()
        self._retry = ChangeSignals()  # kinds whose read failed: read (not probed) next refresh, quietly
        self._probe_every_ci = True  # while the budget allows (`watch`)
        self._ci_period: float | None = None  # the sweep of quiet green branches' CI past that (`watch`)
        self._first_reads = 0  # repositories never read that this refresh started reading
        self._schedule_reads = 0  # CI workflow files this refresh read
        self._first_read_allowance: float | None = None  # points they may take this refresh (set once known)
        enabled = [spec.key for spec in default_registry() if spec.key not in settings.metrics_disabled]
        self._first_read_points = sum(
            points for prefix, points in FIRST_READ_POINTS.items() if any(key.startswith(prefix) for key in enabled)
        )
        self._admission_lock = threading.Lock()  # this refresh's first reads and workflow-file reads
        self._monotonic = monotonic
        self._wall = wall
        # How long a request waits for the refresh's first request with its token: one request's bounds.
        self._first_answer_wait = (settings.github_timeout_seconds + 2.0) * (settings.github_retries + 1)
        self._stopping = stopping  # once set, sessions send no new request (the exporter is shutting down)
        self.rate_limit = RateLimitState(settings.rate_limit_reserve, clock=wall)
        self.hooks = hooks or transport.HttpHooks()
        self.hooks.max_answer_bytes = settings.max_answer_bytes
        self.hooks.middlewares.extend([self._stop_after_401, self.rate_limit.middleware])
        self.pacer = RequestPacer(  # inside the two above: a request they refuse takes no slot and no turn
            settings.github_points_per_minute,
            settings.github_max_in_flight,
            max_wait=settings.refresh_deadline_seconds,
            clock=pacing_clock or time.monotonic,  # paired with the sleep: real unless both are injected
            sleep=pacing_sleep,
            stopping=stopping,
            recheck=self.rate_limit.refusal,
        )
        self.hooks.middlewares.append(self.pacer.middleware)
        self.hooks.middlewares.append(tracing.github_request_span)  # a no-op while tracing is off
        self.facts = FactStore()  # what GitHub will never change: fetched once, kept across refreshes
        self.cache = etag_cache.ConditionalRequests.from_settings(settings)
        if self.cache is not None:  # below the observers, so they see the 304's fresh headers
            self.hooks.middlewares.append(self.cache)
        self.hooks.middlewares.append(answers.check)  # innermost: an answer it refuses is never cached
        transport.install()

    def session(self, repo: str, now: datetime, deadline: float) -> RepoSession:
        """A fresh per-refresh view of `repo` (a client per repository: PyGithub connections are not
        safe to share between threads)."""
        token = self._tokens.get(deadline)
        try:
            client = self._client(token.get_secret_value() if token is not None else None)
        except Exception as exc:
            raise classify(exc) from None
        kept = self.held.get(repo)
        if not kept.read_at:
            self._admit_first_read(repo)
        settings = self._settings
        state = kept.state()
        actions = changes.plan(
            repo,
            state,
            self.signals.take(repo) | self._retry.take(repo),
            now.timestamp(),
            settings.slow_data_seconds,
            settings.cache_ttl_seconds,
            self._probe_every_ci,
            self._ci_period,
        )
        return RepoSession(
            client,
            repo,
            self._settings,
            now.astimezone(UTC),
            deadline,
            dataclasses.replace(self.hooks, time_left=lambda: deadline - self._monotonic()),  # for the pacer
            self._monotonic,
            self._stopping,
            self.facts,
            kept,
            actions,
            lambda kind: self._retry.mark(repo, (kind,)),
            self._admit_schedule_read(state),
        )

    def _admit_schedule_read(self, state: changes.HeldState) -> bool:
        """Whether this session reads the CI workflow's crons (`changes.reads_schedule`), at most
        SCHEDULE_READ_SHARE of a refresh's request budget a refresh: past the count where every CI is
        probed, each repository's file is read once, spread over the refreshes that takes."""
        if not changes.reads_schedule(state, self._probe_every_ci):
            return False
        with self._admission_lock:
            if self._schedule_reads >= max(1, int(SCHEDULE_READ_SHARE * changes.request_budget(self._settings))):
                return False
            self._schedule_reads += 1
            return True

    def _admit_first_read(self, repo: str) -> None:
        """Let a repository never read start its first read (FIRST_READ_POINTS of its metrics), or raise
        `rate_limited` once this refresh's first reads have taken FIRST_READ_SHARE of GitHub's points left
        beyond the reserve. So a cold start of thousands of repositories spreads over the refreshes (and
        hours) it needs, and never spends what the repositories already read need meanwhile."""
        snap = self.rate_limit.snapshot()
        with self._admission_lock:
            if snap.remaining is None or snap.reset is None or self._wall() >= snap.reset:
                self._first_reads += 1  # nothing known yet (the first answers will say), or the limit has reset
                return
            spare = snap.remaining - self.rate_limit.effective_reserve(snap.limit)
            if self._first_read_allowance is None:  # fixed for the refresh once GitHub has said what is left
                self._first_read_allowance = self._first_reads * self._first_read_points + spare * FIRST_READ_SHARE
            if (self._first_reads + 1) * self._first_read_points > self._first_read_allowance:
                raise SourceError(
                    "rate_limited",
                    f"the first read of {repo} waits for GitHub's rate limit: this refresh's first reads had "
                    f"half of the {spare} points left beyond the reserve until "
                    f"{datetime.fromtimestamp(snap.reset, UTC):%H:%M:%SZ}",
                )
            self._first_reads += 1

    def watch(self, repos: Sequence[str]) -> None:
        """A refresh covers `repos`: what is held of any other repository is forgotten."""
        self.held.keep_only(repos)
        with self._admission_lock:
            self._first_reads, self._first_read_allowance, self._schedule_reads = 0, None, 0
        self._probe_every_ci = changes.probes_every_refresh(len(repos), self._settings)
        self._ci_period = changes.ci_sweep_period(len(repos), self._settings)

    def note_pushed(self, repo: str, pushed_at: float) -> None:
        """An account listing shows `repo` last pushed at `pushed_at` (Unix time): its push signal."""
        self.held.note_pushed(repo, pushed_at)

    def pacing_stats(self) -> PacingStats:
        """What the pacer did since start."""
        return self.pacer.stats()

    def vouch(self, repos: Sequence[str], at: float) -> None:
        """An account listing at `at` (Unix time) showed every push to `repos` until then."""
        self.held.vouch(repos, at)

    def data_ages(self, repos: Sequence[str], now: float) -> Mapping[str, float]:
        """How long ago each kind of data was last confirmed current, for the least recent of `repos`."""
        return {str(kind): age for kind, age in self.held.ages(repos, now).items()}

    def client(self, deadline: float) -> Github:
        """A client with the current token for a request outside a repository's session (discovery);
        send its requests inside `transport.using(self.hooks)`."""
        token = self._tokens.get(deadline)
        try:
            return self._client(token.get_secret_value() if token is not None else None)
        except Exception as exc:
            raise classify(exc) from None

    def _client(self, token: str | None) -> Github:
        return Github(
            auth=Auth.Token(token) if token is not None else None,
            base_url=self._settings.github_api_url,
            timeout=self._settings.github_timeout_seconds,
            per_page=100,
            pool_size=self._settings.github_concurrency,
            retry=_retry_policy(self._settings.github_retries),
            lazy=True,
            seconds_between_requests=None,
            seconds_between_writes=None,
            user_agent=f"system-health-exporter/{__version__}",
        )

    def begin_refresh(self) -> None:
        """A refresh starts: the token's secret may be read once more, and the token is checked again."""
        self._tokens.begin_refresh()

    def secret_read_errors(self) -> Mapping[str, int]:
        """Failed reads of the token's secret since start, by reason."""
        return self._tokens.read_errors()

    def rate_limit_snapshot(self) -> RateLimitSnapshot:
        """GitHub's core rate limit as last reported."""
        return self.rate_limit.snapshot()

    def _stop_after_401(self, request: transport.HttpRequest, send: transport.Send) -> requests.Response:
        """`transport` middleware: no request with a token GitHub refused; in each refresh the first
        request with a token goes alone, so a revoked token is answered 401 once."""
        token = _sent_token(request.headers)
        if token is None:
            return send(request)
        first = self._tokens.admit(token, self._first_answer_wait)
        status: int | None = None
        try:
            response = send(request)
            status = response.status_code
        finally:
            self._tokens.answered(token, status, first)
        return response


def _sent_token(headers: Mapping[str, str]) -> str | None:
    """The token of an `Authorization: token …` (or `Bearer …`) header; None for an anonymous request."""
    for name, value in headers.items():
        if name.lower() == "authorization":
            return value.partition(" ")[2] or value
    return None
