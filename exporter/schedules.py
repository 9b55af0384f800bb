"""When a branch's CI runs without a push: the crons of its workflow file's `on.schedule`.

GitHub starts a `schedule` run at each fire time of a cron in the workflow file (5 fields, UTC), a few
minutes late under load, on the default branch's head. Past the repository count where every CI is probed
every refresh (`exporter/changes.py`), a branch whose workflow has crons is probed from each fire time until
a `schedule` run created after it is read, rather than every refresh: a nightly workflow costs a request or
two a day, not ninety-six. The file is read with PyYAML (`safe_load`) and the crons are checked and
stepped by croniter, the library GitHub-style crons are usually handled with.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import yaml
from croniter import croniter

CRON_FIELDS = 5  # GitHub's crons: minute hour day-of-month month day-of-week (no seconds field)


def crons_in(text: str, source: str) -> tuple[str, ...]:
    """The crons of the workflow file `text`'s `on.schedule`; () when it has no schedule. Raises ValueError
    naming `source` (the file) and the problem when the text is not a workflow or a cron is not one."""
    try:
        document: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"{source} is not valid YAML: {_first_line(exc)}") from None
    if not isinstance(document, dict):
        raise ValueError(f"{source} is not a workflow: its top level is a {type(document).__name__}, not a mapping")
    # YAML 1.1 (PyYAML) reads a bare `on` key as the boolean true; GitHub reads it as "on".
    triggers = document["on"] if "on" in document else document.get(True)
    if triggers is None:
        raise ValueError(f"{source} is not a workflow: it has no `on` key")
    if isinstance(triggers, str | list):  # `on: push`, `on: [push, schedule]`: a schedule needs crons
        return ()
    if not isinstance(triggers, dict):
        raise ValueError(f"{source}: `on` is a {type(triggers).__name__}, not an event, a list or a mapping")
    schedule = triggers.get("schedule")
    if schedule is None:
        return ()
    if not isinstance(schedule, list):
        raise ValueError(f"{source}: `on.schedule` is a {type(schedule).__name__}, not a list of `cron` entries")
    crons = tuple(_cron(entry, source) for entry in schedule)
    return crons


def _cron(entry: object, source: str) -> str:
    cron = entry.get("cron") if isinstance(entry, dict) else None
    if not isinstance(cron, str) or len(cron.split()) != CRON_FIELDS or not croniter.is_valid(cron):
        raise ValueError(f"{source}: `on.schedule` holds {entry!r}, not a `cron` of {CRON_FIELDS} fields")
    return cron


def latest_fire(crons: Sequence[str], now: float) -> float | None:
    """The latest fire time (Unix seconds) at or before `now` of any of `crons`; None without crons."""
    minute = int(now // 60)
    return max((_latest_fire_in_minute(cron, minute) for cron in crons), default=None)


@functools.lru_cache(maxsize=4096)
def _latest_fire_in_minute(cron: str, minute: int) -> float:
    """A cron fires on whole minutes: the latest fire up to the end of `minute` is at or before any moment in
    it. Cached, so ten thousand repositories sharing a few crons step croniter a few times a refresh."""
    end = datetime.fromtimestamp(minute * 60 + 59, UTC)
    fired: float = croniter(cron, end).get_prev(float)
    return fired


def _first_line(exc: yaml.YAMLError) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
