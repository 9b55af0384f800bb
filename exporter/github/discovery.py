"""Organisation discovery: the repositories a refresh covers, asked at the start of every refresh.

EXPORTER_REPOS names repositories (`owner/name`) and accounts (`org:NAME`, `user:NAME`). `Discovery`
answers the named repositories, in their order, then the accounts' repositories that pass the filters
(not archived, not a fork, not empty unless asked for; EXPORTER_DISCOVERY_INCLUDE / _EXCLUDE globs on the
name or owner/name; any of EXPORTER_DISCOVERY_TOPICS), sorted by name, without a repository twice (in
any case), and at most EXPORTER_MAX_REPOS in all: the named ones always, the discovered ones last by
name are left out, with a warning and `system_health_exporter_repositories_cut`.

An account is listed again only once EXPORTER_DISCOVERY_INTERVAL_SECONDS have passed since its last
good listing (`GET /orgs/{org}/repos?type=all`, `GET /users/{user}/repos?type=owner`, pages of 100 up
to a short one, oldest created first so that a new repository changes only the last page). The listing goes through
the `GitHubSource`'s client and HTTP hooks, so it is conditional (an unchanged page answers 304 and
costs no point), rate limited, checked and size capped like every other request. A listing that
fails keeps the account's last good list and is tried again at the next refresh; with no list yet,
the refresh covers the named repositories only. Every shard lists the accounts itself and splits
the same answer (`exporter/sharding.py`), so the shards agree without talking to each other.
"""

from __future__ import annotations

import fnmatch
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from exporter.changes import CLOCK_SKEW_SECONDS
from exporter.errors import SourceError
from exporter.github import transport
from exporter.github.deployments import timestamp
from exporter.github.source import GitHubSource, classify
from exporter.settings import RepoOwner, Settings

logger = logging.getLogger(__name__)

PER_PAGE = 100
MAX_LISTED = 10_000  # repositories read from one account's list (100 pages); the rest are not seen
MAX_NAMES_LOGGED = 5


@dataclass(frozen=True)
class ListedRepo:
    """One repository as its account's list shows it: what the filters read."""

    full_name: str
    archived: bool = False
    fork: bool = False
    empty: bool = False  # GitHub's `size` is 0: no commit yet
    topics: frozenset[str] = frozenset()
    pushed_at: float | None = None  # Unix time of the newest push to any branch (None: never pushed)

    @property
    def name(self) -> str:
        """The name without the owner."""
        return self.full_name.partition("/")[2]


Lister = Callable[[RepoOwner, float], Sequence[ListedRepo]]  # (account, monotonic deadline) -> its repositories
# (account, Unix time, monotonic deadline) -> its repositories pushed at or after that time, newest push first
PushFeed = Callable[[RepoOwner, float, float], Sequence[ListedRepo]]


def _listed(item: dict[str, Any]) -> ListedRepo:
    """A repository of a list (its shape checked by `answers` before it gets here)."""
    return ListedRepo(
        full_name=str(item["full_name"]),
        archived=bool(item["archived"]),
        fork=bool(item["fork"]),
        empty=int(item["size"]) == 0,
        topics=frozenset(str(topic).lower() for topic in item.get("topics") or ()),
        pushed_at=timestamp(item["pushed_at"]).timestamp() if item.get("pushed_at") else None,
    )


class RepoLister:
    """Lists an account's repositories with a `GitHubSource`'s client, through its HTTP hooks."""

    def __init__(
        self,
        source: GitHubSource,
        monotonic: Callable[[], float] = time.monotonic,
        stopping: threading.Event | None = None,
    ) -> None:
        self._source = source
        self._monotonic = monotonic
        self._stopping = stopping if stopping is not None else threading.Event()

    def __call__(self, owner: RepoOwner, deadline: float) -> list[ListedRepo]:
        """Every repository of `owner` (at most MAX_LISTED), oldest created first; raises SourceError with a
        bounded reason."""
        listed: list[ListedRepo] = []
        for page in self._pages(owner, "created", "asc", deadline):
            listed.extend(page)
            if len(page) < PER_PAGE:
                return listed
        logger.warning("discovery: %s has over %d repositories, the rest unseen", owner, MAX_LISTED)
        return listed

    def pushed_since(self, owner: RepoOwner, since: float, deadline: float) -> list[ListedRepo]:
        """`owner`'s repositories pushed at or after `since`, newest push first: pages of the list sorted by
        push until one pushed before it (one page for up to a hundred pushes); raises SourceError."""
        pushed: list[ListedRepo] = []
        for page in self._pages(owner, "pushed", "desc", deadline):
            for repo in page:
                if repo.pushed_at is None or repo.pushed_at < since:
                    return pushed
                pushed.append(repo)
            if len(page) < PER_PAGE:
                return pushed
        return pushed

    def _pages(self, owner: RepoOwner, sort: str, direction: str, deadline: float) -> Iterator[list[ListedRepo]]:
        """`owner`'s list in that order, a page at a time (at most MAX_LISTED repositories); raises SourceError.

        Pages are asked for by number, not by following `Link`: a page answered 304 is the stored answer
        with its stored `Link`, which lacks the `next` of a page added since (a new repository, oldest
        first, lands on a new last page while the full page before it is unchanged).
        """
        path = f"/orgs/{owner.name}/repos" if owner.kind == "org" else f"/users/{owner.name}/repos"
        params: dict[str, Any] = {"type": "all" if owner.kind == "org" else "owner"}
        params |= {"sort": sort, "direction": direction, "per_page": PER_PAGE}
        try:
            client = self._source.client(deadline)
            with transport.using(self._source.hooks):
                for page in range(1, MAX_LISTED // PER_PAGE + 1):
                    self._check(deadline)
                    _, items = client.requester.requestJsonAndCheck("GET", path, parameters=params | {"page": page})
                    yield [_listed(item) for item in items]
        except Exception as exc:
            raise classify(exc) from None

    def _check(self, deadline: float) -> None:
        if self._stopping.is_set():
            raise SourceError("shutdown", "the exporter is shutting down: no further request to GitHub")
        if self._monotonic() > deadline:
            raise SourceError("timeout", "the refresh deadline passed while listing repositories")


@dataclass(frozen=True)
class SourceStatus:
    """One `org:` / `user:` entry as of a refresh."""

    source: str  # as configured, e.g. "org:Metta-AI"
    repositories: int | None  # that pass the filters, in the list used; None: never listed
    listed_at: float | None  # wall time of the last good listing
    errors: Mapping[str, int] = field(default_factory=dict)  # failed listings since start, by reason


@dataclass(frozen=True)
class DiscoveryStatus:
    """What discovery did, for the exporter's own metrics."""

    sources: tuple[SourceStatus, ...] = ()
    cut: int = 0  # repositories EXPORTER_MAX_REPOS left out of the last set


class Discovery:
    """The repository set of each refresh: EXPORTER_REPOS's repositories plus its accounts' (see module)."""

    def __init__(
        self,
        settings: Settings,
        lister: Lister,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        feed: PushFeed | None = None,
        on_pushed: Callable[[str, float], None] | None = None,
        on_vouched: Callable[[Sequence[str], float], None] | None = None,
    ) -> None:
        self._settings = settings
        self._lister = lister
        # The push signal (exporter/changes.py): every listing's `pushed_at` goes to `on_pushed`, and between
        # full listings `feed` asks each account for what was pushed since the newest push it showed.
        self._feed = feed
        self._on_pushed = on_pushed
        self._on_vouched = on_vouched  # (repositories, wall time): the listing showed every push to them until then
        self._newest_push: dict[RepoOwner, float] = {}
        self._wall = wall
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._lists: dict[RepoOwner, tuple[str, ...]] = {}  # the last good list, filtered
        self._listed_at: dict[RepoOwner, tuple[float, float]] = {}  # (monotonic, wall) of that listing
        self._errors: dict[RepoOwner, Counter[str]] = {owner: Counter() for owner in settings.discovery_owners}
        self._cut: tuple[str, ...] = ()

    def __call__(self) -> tuple[str, ...]:
        """The repositories this refresh covers, listing the accounts that are due."""
        with self._lock:
            start = self._monotonic()
            deadline = start + self._settings.refresh_deadline_seconds
            for owner in self._settings.discovery_owners:
                listed_at = self._listed_at.get(owner)
                if listed_at is None or start - listed_at[0] >= self._settings.discovery_interval_seconds:
                    self._list(owner, deadline)
                elif self._feed is not None and owner in self._newest_push:
                    self._read_feed(owner, deadline)
            return self._bounded()

    def status(self) -> DiscoveryStatus:
        """Each account's list and failures, and how many repositories the bound left out."""
        with self._lock:
            return DiscoveryStatus(
                sources=tuple(
                    SourceStatus(
                        str(owner),
                        len(self._lists[owner]) if owner in self._lists else None,
                        self._listed_at[owner][1] if owner in self._listed_at else None,
                        MappingProxyType(dict(self._errors[owner])),
                    )
                    for owner in self._settings.discovery_owners
                ),
                cut=len(self._cut),
            )

    def _list(self, owner: RepoOwner, deadline: float) -> None:
        before = self._lists.get(owner)
        asked_at = self._wall()
        try:
            listed = self._lister(owner, deadline)
        except Exception as exc:
            error = classify(exc)
            self._errors[owner][error.reason] += 1
            if before is not None:
                logger.warning(
                    "discovery: listing %s failed (%s): %s; keeping its last list of %d repositories",
                    owner,
                    error.reason,
                    error,
                    len(before),
                )
            else:
                logger.warning(
                    "discovery: listing %s failed (%s): %s; no list yet, trying again next refresh",
                    owner,
                    error.reason,
                    error,
                )
            return
        kept = tuple(sorted((repo.full_name for repo in listed if self._wanted(repo)), key=str.casefold))
        self._lists[owner] = kept
        self._note_pushes(owner, listed, asked_at)
        self._listed_at[owner] = (self._monotonic(), self._wall())
        if before != kept:
            added = sorted(set(kept) - set(before or ()))
            gone = sorted(set(before or ()) - set(kept))
            logger.info(
                "discovery: %s lists %d repositories, %d pass the filters (%d new%s, %d gone%s)",
                owner,
                len(listed),
                len(kept),
                len(added),
                _some(added),
                len(gone),
                _some(gone),
            )

    def _read_feed(self, owner: RepoOwner, deadline: float) -> None:
        assert self._feed is not None
        asked_at = self._wall()
        try:
            pushed = self._feed(owner, self._newest_push[owner], deadline)
        except Exception as exc:  # the next feed asks from the same push on: nothing is missed, only later
            error = classify(exc)
            self._errors[owner][error.reason] += 1
            logger.warning("discovery: reading %s's recent pushes failed (%s): %s", owner, error.reason, error)
            return
        self._note_pushes(owner, pushed, asked_at)

    def _note_pushes(self, owner: RepoOwner, listed: Sequence[ListedRepo], asked_at: float) -> None:
        if self._on_pushed is None:
            return
        for repo in listed:
            if repo.pushed_at is not None:
                self._on_pushed(repo.full_name, repo.pushed_at)
        if self._on_vouched is not None and owner in self._lists:
            self._on_vouched(self._lists[owner], asked_at)
        newest = max((repo.pushed_at for repo in listed if repo.pushed_at is not None), default=None)
        if newest is not None:
            # The next feed asks from the newest push shown, but never from later than this listing's start: a
            # listing paged over seconds shows a late page's push while an early page's repository was pushed
            # after its page was read (and GitHub's clock may differ from ours).
            since = min(newest, asked_at - CLOCK_SKEW_SECONDS)
            self._newest_push[owner] = max(since, self._newest_push.get(owner, since))

    def _wanted(self, repo: ListedRepo) -> bool:
        settings = self._settings
        if (repo.archived and not settings.discovery_include_archived) or (
            repo.fork and not settings.discovery_include_forks
        ):
            return False
        if repo.empty and not settings.discovery_include_empty:
            return False
        if settings.discovery_include and not any(_matches(repo, glob) for glob in settings.discovery_include):
            return False
        if any(_matches(repo, glob) for glob in settings.discovery_exclude):
            return False
        return not settings.discovery_topics or bool(repo.topics & set(settings.discovery_topics))

    def _bounded(self) -> tuple[str, ...]:
        """The named repositories, then the discovered ones by name, each once, at most EXPORTER_MAX_REPOS."""
        seen: set[str] = set()
        named: list[str] = []
        for repo in self._settings.repos:
            if repo.casefold() not in seen:
                seen.add(repo.casefold())
                named.append(repo)
        discovered: list[str] = []
        for repo in sorted((repo for kept in self._lists.values() for repo in kept), key=str.casefold):
            if repo.casefold() not in seen:
                seen.add(repo.casefold())
                discovered.append(repo)
        room = max(0, self._settings.max_repos - len(named))
        cut = tuple(discovered[room:])
        if cut and cut != self._cut:
            logger.warning(
                "EXPORTER_MAX_REPOS=%d: %d of the %d repositories found are left out (the last by name%s)",
                self._settings.max_repos,
                len(cut),
                len(named) + len(discovered),
                _some(list(cut)),
            )
        elif self._cut and not cut:
            logger.info("EXPORTER_MAX_REPOS=%d: no repository left out any more", self._settings.max_repos)
        self._cut = cut
        return (*named, *discovered[:room])


def _matches(repo: ListedRepo, glob: str) -> bool:
    """A glob with a '/' matches owner/name, else the name; in any case, as GitHub names."""
    target = repo.full_name if "/" in glob else repo.name
    return fnmatch.fnmatchcase(target.casefold(), glob.casefold())


def _some(names: Sequence[str]) -> str:
    """': a, b, …' for a log line, at most MAX_NAMES_LOGGED names; '' for none."""
    if not names:
        return ""
    shown = ", ".join(names[:MAX_NAMES_LOGGED])
    return f": {shown}" + (", …" if len(names) > MAX_NAMES_LOGGED else "")
