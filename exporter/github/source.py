"""Reads GitHub through PyGithub: with `transport` (the transport under it), the only module
that imports `github`.

PyGithub makes every request, follows `Link` pages and raises its typed errors; list items are kept
as GitHub's JSON and turned into our small dataclasses (building PyGithub's object tree for each
item was most of a refresh's CPU time).

One `RepoSession` per repository per refresh fetches each dataset at most once (a failure is
remembered too, so the two commit metrics share one list and one error). Every request is
bounded: an explicit timeout, a small urllib3 retry budget with capped backoff and no waiting on
rate limits, and a refresh deadline checked between pages. Around every request (outermost first):
a refused token is not sent again until it is read again, `rate_limit` keeps requests inside
GitHub's limits without sleeping, and (innermost) `answers` fails an odd answer before
PyGithub reads it or the ETag cache keeps it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import github
import requests
from github import Auth, Github, GithubException
from github.PaginatedList import PaginatedList
from urllib3.util.retry import Retry

from exporter import __version__, tracing
from exporter.errors import SourceError
from exporter.github import answers, etag_cache, transport
from exporter.github.credentials import TokenProvider
from exporter.github.rate_limit import RateLimitSnapshot, RateLimitState, retry_after_seconds
from exporter.metrics.repo_data import Commit, Job, WorkflowRun
from exporter.settings import Settings

logger = logging.getLogger(__name__)

RUNS_PER_PAGE = 10
SKIPPED_RUN_CONCLUSIONS = frozenset({"cancelled", "skipped", "stale"})
_RETRYABLE_STATUS = (500, 502, 503, 504)
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
    ) -> None:
        self._client = client
        self._hooks = hooks
        self._repo_name = repo
        self._settings = settings
        self._now = now
        self._deadline = deadline
        self._monotonic = monotonic
        self._run = _Once()
        self._commits = _Once()

    @property
    def repo(self) -> str:
        return self._repo_name

    @property
    def settings(self) -> Settings:
        return self._settings

    def latest_ci_run(self) -> WorkflowRun | None:
        with transport.using(self._hooks):
            return self._run.get(self._fetch_latest_run)

    def recent_commits(self) -> Sequence[Commit]:
        with transport.using(self._hooks):
            return self._commits.get(self._fetch_commits)

    def _within_deadline(self, items: Iterable[T]) -> Iterable[T]:
        for item in items:
            if self._monotonic() > self._deadline:
                raise SourceError("timeout", "the refresh deadline passed while paging through GitHub results")
            yield item

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
        workflow = self._client.get_repo(self._repo_name).get_workflow(self._settings.ci_workflow)
        # Only the newest counted run matters: a small page, not PyGithub's 100.
        params = {"branch": self._settings.branch, "status": "completed", "per_page": RUNS_PER_PAGE}
        try:
            for run in self._pages(f"{workflow.url}/runs", params, "workflow_runs"):
                if run["conclusion"] in SKIPPED_RUN_CONCLUSIONS:
                    continue
                jobs = tuple(
                    Job(name=str(job["name"]), status=str(job["status"]), conclusion=job["conclusion"])
                    for job in self._pages(run["jobs_url"], {"filter": "latest", "per_page": 100}, "jobs")
                )
                return WorkflowRun(
                    id=int(run["id"]),
                    conclusion=run["conclusion"],
                    run_attempt=int(run.get("run_attempt") or 1),
                    created_at=_timestamp(run["created_at"]),
                    html_url=str(run["html_url"]),
                    jobs=jobs,
                )
        except github.UnknownObjectException:
            self._raise_unless_repo_exists()
            logger.warning("workflow %s not found in %s: no CI data", self._settings.ci_workflow, self._repo_name)
        return None

    def _raise_unless_repo_exists(self) -> None:
        """A 404 on the runs list is an unknown workflow (no data) unless the repository is unknown."""
        repository = self._client.get_repo(self._repo_name)
        repository.update()  # one GET, paid only on this rare path; raises UnknownObjectException

    def _fetch_commits(self) -> list[Commit]:
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
            committed_at = _timestamp(committer["date"])
            if committed_at < since:
                continue
            commits.append(
                Commit(
                    sha=str(item["sha"]),
                    message=str(item["commit"]["message"] or ""),
                    committed_at=committed_at,
                    parent_count=len(item["parents"]),
                )
            )
        return commits


class _JsonItem:
    """One list item kept as GitHub's JSON: building PyGithub objects (each run carries two full
    repositories, each commit three users) was most of a refresh's CPU time."""

    __slots__ = ("data",)

    def __init__(self, requester: object, headers: object, attributes: dict[str, Any], *_: object) -> None:
        self.data = attributes


def _timestamp(text: str) -> datetime:
    """GitHub's ISO 8601 time (`2026-11-20T12:00:00Z`) as an aware datetime."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class GitHubSource:
    """Makes a `RepoSession` per repository per refresh, with a bounded PyGithub client."""

    def __init__(
        self,
        settings: Settings,
        tokens: TokenProvider,
        monotonic: Callable[[], float] = time.monotonic,
        hooks: transport.HttpHooks | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._tokens = tokens
        self._monotonic = monotonic
        self._refused_at_fetch: int | None = None  # TokenProvider.fetches when GitHub last answered 401
        self.rate_limit = RateLimitState(settings.rate_limit_reserve, clock=wall)
        self.hooks = hooks or transport.HttpHooks()
        self.hooks.max_answer_bytes = settings.max_answer_bytes
        self.hooks.middlewares.extend([self._stop_after_401, self.rate_limit.middleware])
        self.hooks.middlewares.append(tracing.github_request_span)  # a no-op while tracing is off
        self.cache = etag_cache.ConditionalRequests.from_settings(settings)
        if self.cache is not None:  # below the observers, so they see the 304's fresh headers
            self.hooks.middlewares.append(self.cache)
        self.hooks.middlewares.append(answers.check)  # innermost: an answer it refuses is never cached
        transport.install()

    def session(self, repo: str, now: datetime, deadline: float) -> RepoSession:
        """A fresh per-refresh view of `repo` (a client per repository: PyGithub connections are not
        safe to share between threads)."""
        token = self._tokens.get()
        self._raise_if_token_refused()
        try:
            client = self._client(token.get_secret_value() if token is not None else None)
        except Exception as exc:
            raise classify(exc) from None
        return RepoSession(client, repo, self._settings, now.astimezone(UTC), deadline, self.hooks, self._monotonic)

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

    def token_refused(self) -> None:
        """GitHub answered 401: read the token again on the next refresh."""
        self._tokens.invalidate()

    def rate_limit_snapshot(self) -> RateLimitSnapshot:
        """GitHub's core rate limit as last reported."""
        return self.rate_limit.snapshot()

    def _raise_if_token_refused(self) -> None:
        """After a 401, the token is not sent again until it is read again (GITHUB_TOKEN: a restart)."""
        if self._refused_at_fetch is not None and self._refused_at_fetch == self._tokens.fetches:
            again = "is read again" if self._tokens.uses_secrets_manager else "is replaced (GITHUB_TOKEN: restart)"
            raise SourceError("unauthorized", f"GitHub refused the token (401); no request until the token {again}")

    def _stop_after_401(self, request: transport.HttpRequest, send: transport.Send) -> requests.Response:
        """`transport` middleware: no request with a token GitHub refused; remember a refusal."""
        self._raise_if_token_refused()
        response = send(request)
        if response.status_code == 401 and any(name.lower() == "authorization" for name in request.headers):
            self._refused_at_fetch = self._tokens.fetches
        return response
