"""What to ask GitHub about a repository in a refresh: only what may have changed since it was read.

The data a refresh reads comes in four kinds, each with its own freshness bound:

- `ci`, the CI workflow's runs on the branch: one refresh (EXPORTER_CACHE_TTL_SECONDS)*; signal: a
  conditional request on the runs list.
- `commits`, the branch's commits in the window: one refresh; signal: the account listing's `pushed_at`.
- `pulls`, open and merged pull requests, and `deployments`, the deployment source's: within
  EXPORTER_SLOW_DATA_SECONDS; no cheap signal, so they are read again on a staggered sweep.

A verified webhook (`exporter/web/webhooks.py`) or a push seen in the account listing marks kinds of a
repository changed (`ChangeSignals`); a marked kind is read at the repository's next session. Without a
mark, `plan` decides per kind: `read` (ask GitHub, unconditionally or through the ETag cache), `probe`
(one conditional request: a 304 keeps what is held, at no rate-limit point) or `hold` (no request: the
held data, re-windowed to the refresh's time, so a commit leaving the window, a red streak growing or a
pull request turning stale is computed without asking). Data never read is always read.

* `ci` is probed every refresh for every repository while that costs at most QUIET_PROBE_SHARE of the
refresh interval's request budget (EXPORTER_GITHUB_POINTS_PER_MINUTE); past it (about 6,000 repositories
a 15-minute interval at the default pace) only while it can change without a push to the branch: the
newest run failed (a re-run is how red turns green), a cron of the CI workflow file fired under
SCHEDULE_WATCH_SECONDS ago and its `schedule` run is not read yet (`exporter/schedules.py`; the file is read
with the first read and after each push; while its crons are not known, whenever `schedule` runs were
read), or a push is under an hour old with no run created since (its run may still be going). A quiet
green branch's is then probed on a sweep of its own, as often as CI_SWEEP_SHARE of the budget allows and
never less often than the slow sweep (`ci_sweep_period`): a re-run or dispatch there shows within that
period and a refresh, or at once with the `workflow_run` webhook.
A repository that no account listing covers has no push signal: its `ci` and `commits` are asked every
refresh (conditionally), as before.

The sweep is staggered: a repository's slow reads fall at `(k + phase) * period` on the wall clock,
`phase` a stable hash of its name and `period` the bound less one refresh, so 10,000 repositories read
about an equal share each refresh and none waits past its bound.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, get_args

from exporter import schedules

if TYPE_CHECKING:
    from exporter.settings import Settings

Kind = Literal["ci", "commits", "pulls", "deployments"]
KINDS: tuple[Kind, ...] = get_args(Kind)
Action = Literal["read", "probe", "hold"]

# What a webhook event may have changed (the payload itself is never trusted: it only says what to re-read).
EVENT_KINDS: Mapping[str, frozenset[Kind]] = {
    "push": frozenset({"commits", "ci"}),
    "workflow_run": frozenset({"ci", "deployments"}),  # a deploy workflow's runs are deployments too
    "pull_request": frozenset({"pulls"}),
    "deployment_status": frozenset({"deployments"}),
    "deployment": frozenset({"deployments"}),
    "release": frozenset({"deployments"}),
}
PUSH_KINDS: frozenset[Kind] = frozenset({"commits", "ci"})  # what a push seen in a listing marks
# GitHub's clock and ours may differ: a push this close before a read is read again (a 304 when it was in).
CLOCK_SKEW_SECONDS = 60.0
PUSH_WATCH_SECONDS = 3600.0  # after a push, `ci` is probed every refresh this long (its run may be going)
# GitHub starts a scheduled run a few minutes after its cron's time, later under load (or drops it): the
# branch's CI is probed from the fire time until a `schedule` run created since is read, this long at most.
SCHEDULE_WATCH_SECONDS = 3600.0
# The share of a refresh interval's request budget that probing every repository's CI may take; the rest is
# for reading what changed and for the sweep.
QUIET_PROBE_SHARE = 0.6
# Past it, the share that probing quiet green branches' CI on a sweep of its own may take (`ci_sweep_period`):
# 10,000 repositories at 720 a minute and a TTL of 840 s are probed every 46 minutes.
CI_SWEEP_SHARE = 0.3


@dataclass(frozen=True)
class HeldState:
    """What the scheduler needs to know of a repository's held data (wall times, Unix seconds)."""

    read_at: Mapping[Kind, float]  # when each kind held was last confirmed current (read, or probed 304)
    pushed_at: float | None = None  # the newest push the account listing showed; None: no listing covers it
    ci_red: bool = False  # the newest counted run did not succeed
    ci_scheduled: bool = False  # `schedule` runs were read: the branch's CI runs without pushes
    ci_newest_at: float | None = None  # when the newest counted run was created
    ci_crons: tuple[str, ...] | None = None  # the CI workflow file's crons; None: not read (or unreadable)
    ci_newest_scheduled_at: float | None = None  # when the newest `schedule` run read was created
    schedule_read_at: float | None = None  # when the workflow file was read (None: never)


def bound(kind: Kind, settings: Settings, repos: int) -> float:
    """The freshness `kind` is kept within when `repos` repositories are watched (see the module docstring)."""
    ttl = settings.cache_ttl_seconds
    if kind == "commits" or settings.slow_data_seconds <= 0:
        return ttl
    if kind == "ci":
        return (
            ttl
            if probes_every_refresh(repos, settings)
            else min(ci_sweep_period(repos, settings) + ttl, settings.slow_data_seconds)
        )
    return settings.slow_data_seconds


def request_budget(settings: Settings) -> float:
    """Requests a refresh interval may send: EXPORTER_GITHUB_POINTS_PER_MINUTE over the TTL (a minute at least)."""
    return settings.github_points_per_minute * max(settings.cache_ttl_seconds, 60.0) / 60


def probes_every_refresh(repos: int, settings: Settings) -> bool:
    """True when probing the CI of `repos` repositories every refresh fits QUIET_PROBE_SHARE of the budget."""
    return repos <= QUIET_PROBE_SHARE * request_budget(settings)


def ci_sweep_period(repos: int, settings: Settings) -> float:
    """Past `probes_every_refresh`, the period of the sweep that probes quiet green branches' CI: as short as
    CI_SWEEP_SHARE of the budget allows, never longer than the slow sweep's (nor shorter than a refresh)."""
    ttl = max(settings.cache_ttl_seconds, 1.0)
    slow = sweep_period(settings.slow_data_seconds, ttl)
    return min(max(ttl * repos / (CI_SWEEP_SHARE * request_budget(settings)), ttl), slow)


def phase(repo: str) -> float:
    """A stable fraction in [0, 1) for `repo` (any case), spreading sweeps over their period."""
    digest = hashlib.blake2b(repo.casefold().encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def sweep_due(repo: str, read_at: float, now: float, period: float) -> bool:
    """True when one of `repo`'s sweep times `(k + phase) * period` falls in (read_at, now]."""
    offset = phase(repo) * period
    return math.floor((now - offset) / period) > math.floor((read_at - offset) / period)


def sweep_period(slow_bound: float, refresh_interval: float) -> float:
    """The sweep's period: a read at the first refresh after a sweep time keeps age under `slow_bound`."""
    return max(slow_bound - refresh_interval, refresh_interval, 1.0)


def plan(
    repo: str,
    state: HeldState,
    marked: frozenset[Kind],
    now: float,
    slow_bound: float,
    refresh_interval: float,
    probe_every_ci: bool = True,
    ci_period: float | None = None,
) -> dict[Kind, Action]:
    """What to do about each kind of `repo` in a refresh at `now` (see the module docstring); a quiet green
    branch's CI is swept every `ci_period` (None: with the slow kinds)."""
    period = sweep_period(slow_bound, refresh_interval)
    swept = slow_bound <= 0  # no slow bound: the slow kinds are asked every refresh
    watched = state.pushed_at is not None
    actions: dict[Kind, Action] = {}
    for kind in KINDS:
        read_at = state.read_at.get(kind)
        if read_at is None or kind in marked:
            actions[kind] = "read"
        elif kind == "commits":
            pushed_after = state.pushed_at is not None and state.pushed_at >= read_at - CLOCK_SKEW_SECONDS
            actions[kind] = "read" if not watched or pushed_after else "hold"
        elif kind == "ci":
            busy = (
                probe_every_ci or not watched or state.ci_red or _schedule_due(state, now) or _push_not_run(state, now)
            )
            ci_swept = sweep_due(repo, read_at, now, ci_period if ci_period is not None else period)
            actions[kind] = "probe" if busy or swept or ci_swept else "hold"
        else:
            actions[kind] = "read" if swept or sweep_due(repo, read_at, now, period) else "hold"
    return actions


def reads_schedule(state: HeldState, probe_every_ci: bool) -> bool:
    """Whether a session reads the CI workflow file's crons: only when CI is not probed every refresh anyway,
    for a repository with a push signal, when they were never read or a push came since (the file may have
    changed with it)."""
    if probe_every_ci or state.pushed_at is None:
        return False
    return state.schedule_read_at is None or state.pushed_at >= state.schedule_read_at - CLOCK_SKEW_SECONDS


def _schedule_due(state: HeldState, now: float) -> bool:
    """The branch's CI may have run without a push: a cron of its workflow fired under SCHEDULE_WATCH_SECONDS
    ago and no `schedule` run created since has been read. Crons not known: whenever `schedule` runs were read."""
    if state.ci_crons is None:
        return state.ci_scheduled
    fired = schedules.latest_fire(state.ci_crons, now)
    if fired is None or now - fired >= SCHEDULE_WATCH_SECONDS:
        return False
    return state.ci_newest_scheduled_at is None or state.ci_newest_scheduled_at < fired - CLOCK_SKEW_SECONDS


def _push_not_run(state: HeldState, now: float) -> bool:
    """A push under PUSH_WATCH_SECONDS old with no counted run created since: its run may still be going
    (a push to another branch has none, hence the bound)."""
    if state.pushed_at is None or now - state.pushed_at >= PUSH_WATCH_SECONDS:
        return False
    return state.ci_newest_at is None or state.ci_newest_at < state.pushed_at - CLOCK_SKEW_SECONDS


class ChangeSignals:
    """Kinds of repositories marked changed (by webhooks and listings) and not read since (thread-safe).

    A mark is taken when the repository's session starts (`take`): one made while a refresh runs, after
    that repository was read, waits for the next refresh. Names are matched in any case.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._marks: dict[str, tuple[str, set[Kind]]] = {}  # casefolded name -> (name as marked, kinds)

    def mark(self, repo: str, kinds: Iterable[Kind]) -> None:
        """`repo`'s `kinds` changed on GitHub."""
        with self._lock:
            _, marked = self._marks.setdefault(repo.casefold(), (repo, set()))
            marked.update(kinds)

    def take(self, repo: str) -> frozenset[Kind]:
        """The kinds of `repo` marked since the last `take`, forgetting them."""
        with self._lock:
            _, marked = self._marks.pop(repo.casefold(), ("", set()))
            return frozenset(marked)

    def pending(self) -> dict[str, frozenset[Kind]]:
        """Every repository with marks not taken yet, by name as marked."""
        with self._lock:
            return {name: frozenset(kinds) for name, kinds in self._marks.values()}

    def __bool__(self) -> bool:
        with self._lock:
            return bool(self._marks)
