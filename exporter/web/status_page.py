"""The status page's model: what a person sees, built from one snapshot, the registry and the settings.

Pure: `status_page(snapshot, registry, settings, now, refreshing)` reads nothing else, so the HTML
(`status_html`) and `GET /status.json` (which the page's script renders after a refresh) show the
same thing. The rows come from the registry, never from a list of known metrics. Text meant for
people is prepared here (values with units, goals, errors in plain words); escaping is the renderers'.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from exporter import __version__
from exporter.metrics.goals import Goal, overall
from exporter.metrics.registry import BASE_LABELS, MetricRegistry, MetricSpec
from exporter.metrics.scores import Score, scores
from exporter.settings import Settings
from exporter.snapshot import SeriesState, Snapshot

RowState = Literal["ok", "failed", "no_data", "pending"]
RepoState = Literal["failing", "below_goal", "healthy", "no_score"]

# What each bounded failure reason means, for a person (exporter.errors.REASONS).
PLAIN_REASONS: Mapping[str, str] = {
    "timeout": "GitHub did not answer in time",
    "connection": "could not reach GitHub",
    "rate_limited": "GitHub's rate limit was reached",
    "unauthorized": "GitHub refused the token",
    "not_found": "GitHub does not know it",
    "moved": "the repository has moved",
    "empty_repository": "the repository is empty",
    "server_error": "GitHub had a server error",
    "bad_response": "GitHub's answer could not be read",
    "too_large": "GitHub's answer was too large",
    "client_error": "GitHub refused the request",
    "no_token": "there is no GitHub token",
    "metric_error": "the metric's code failed",
    "shutdown": "the exporter was shutting down",
}
_SYMBOLS: Mapping[str, str] = {
    "failing": "⚠",
    "below_goal": "▼",
    "healthy": "✓",
    "no_score": "○",
}
_REPO_WORDS: Mapping[str, str] = {
    "failing": "failing",
    "below_goal": "below goal",
    "healthy": "healthy",
    "no_score": "no score",
}
_COMPARISON_WORDS = {"<": "<", "<=": "≤", ">": ">", ">=": "≥"}


@dataclass(frozen=True)
class ErrorView:
    """The last failure of a series, in plain words."""

    reason: str
    text: str  # e.g. "GitHub did not answer in time: GitHub did not answer in time (ReadTimeout)"
    at: str  # UTC time, e.g. "2026-11-20 12:00:03 UTC"


@dataclass(frozen=True)
class MetricRow:
    """One metric of one repository."""

    key: str
    labels: Mapping[str, str]  # the labels beyond repo and branch, e.g. workflow
    state: RowState
    value: str  # the value served, with its unit; "" when there is none
    goal: str  # e.g. "≤ 4 commits"; "" without a goal
    verdict: str  # "✓ met", "✗ missed", or "" (no score)
    met: bool | None
    score: str  # e.g. "0.83"; "" without a score
    age_seconds: float | None  # of the value served
    value_at: str  # UTC time of the value, "" when there is none
    status: str  # the state in words, with a symbol: "✓ ok", "⚠ failed", "○ no data", "… pending"
    error: ErrorView | None  # set while the metric's last computation failed


@dataclass(frozen=True)
class RepoView:
    """One repository: its rows and how it fares."""

    name: str
    branch: str
    state: RepoState
    failures: int
    overall: float | None
    summary: str  # e.g. "⚠ failing: 1 of 3 metrics failed · score 0.50"
    rows: tuple[MetricRow, ...]


@dataclass(frozen=True)
class MetricInfo:
    """What a metric means, shown once for the page (not in every row: a page of 1,000 repositories stays small)."""

    key: str
    description: str
    goal: str


@dataclass(frozen=True)
class StatusPage:
    """Everything the status page shows."""

    version: str
    generated_at: str
    branch: str
    refreshes: int
    refreshing: bool
    last_refresh: str  # in words: "2026-11-20 12:00:03 UTC, took 0.42 s" or "not yet"
    last_refresh_age_seconds: float | None
    rate_limit: str
    token_required: bool
    summary: str
    repos: tuple[RepoView, ...]
    metrics: tuple[MetricInfo, ...]


def status_page(
    snapshot: Snapshot, registry: MetricRegistry, settings: Settings, now: float, refreshing: bool = False
) -> StatusPage:
    """The page for `snapshot` at wall time `now`: repositories worst first (failures, then lowest score, then name)."""
    served = snapshot.served(now, settings.max_staleness_seconds)
    scored = {(one.key, one.repo): one for one in scores(served.values(), registry)}
    names = _repo_names(snapshot, settings)
    repos = [_repo(name, snapshot, registry, settings, served, scored, now) for name in names]
    repos.sort(key=_worst_first)
    failing = sum(1 for repo in repos if repo.failures)
    summary = f"{_count(len(repos), 'repository', 'repositories')} · {failing} failing · branch {settings.branch}"
    last = snapshot.last
    if last is not None and snapshot.finished_at is not None:
        last_refresh = f"{_utc(snapshot.finished_at)}, took {last.seconds:.2f} s"
        last_age: float | None = max(0.0, now - snapshot.finished_at)
    else:
        last_refresh, last_age = "not yet", None
    return StatusPage(
        version=__version__,
        generated_at=_utc(now),
        branch=settings.branch,
        refreshes=snapshot.refreshes,
        refreshing=refreshing,
        last_refresh=last_refresh,
        last_refresh_age_seconds=last_age,
        rate_limit=_rate_limit(snapshot),
        token_required=settings.refresh_token is not None,
        summary=summary,
        repos=tuple(repos),
        metrics=tuple(MetricInfo(spec.key, spec.description, _goal(spec.goal)) for spec in registry),
    )


def as_json(page: StatusPage) -> dict[str, Any]:
    """The page as JSON-ready data (`GET /status.json`)."""
    return {
        "version": page.version,
        "generated_at": page.generated_at,
        "branch": page.branch,
        "refreshes": page.refreshes,
        "refreshing": page.refreshing,
        "last_refresh": page.last_refresh,
        "last_refresh_age_seconds": page.last_refresh_age_seconds,
        "rate_limit": page.rate_limit,
        "token_required": page.token_required,
        "summary": page.summary,
        "repos": [
            {
                "name": repo.name,
                "branch": repo.branch,
                "state": repo.state,
                "failures": repo.failures,
                "overall": repo.overall,
                "summary": repo.summary,
                "rows": [_row_json(row) for row in repo.rows],
            }
            for repo in page.repos
        ],
        "metrics": [{"key": m.key, "description": m.description, "goal": m.goal} for m in page.metrics],
    }


def age_text(seconds: float) -> str:
    """A value's age for people: "12 s ago", "5 min ago", "3 h ago", "2 d ago" (status.js writes the same)."""
    whole = max(0, math.floor(seconds))
    if whole < 60:
        return f"{whole} s ago"
    if whole < 3600:
        return f"{whole // 60} min ago"
    if whole < 86400:
        return f"{whole // 3600} h ago"
    return f"{whole // 86400} d ago"


def _row_json(row: MetricRow) -> dict[str, Any]:
    error = row.error
    return {
        "key": row.key,
        "labels": dict(row.labels),
        "state": row.state,
        "value": row.value,
        "goal": row.goal,
        "verdict": row.verdict,
        "met": row.met,
        "score": row.score,
        "age_seconds": row.age_seconds,
        "value_at": row.value_at,
        "status": row.status,
        "error": None if error is None else {"reason": error.reason, "text": error.text, "at": error.at},
    }


def _repo_names(snapshot: Snapshot, settings: Settings) -> list[str]:
    """The repositories refreshed so far; before the first refresh, the configured ones (all pending)."""
    seen = dict.fromkeys(repo for _key, repo in snapshot.series)
    return list(seen) if seen else list(settings.repos)


def _repo(
    name: str,
    snapshot: Snapshot,
    registry: MetricRegistry,
    settings: Settings,
    served: Mapping[tuple[str, str], SeriesState],
    scored: Mapping[tuple[str, str], Score],
    now: float,
) -> RepoView:
    rows = tuple(
        _row(spec, snapshot.series.get((spec.key, name)), (spec.key, name) in served, scored.get((spec.key, name)), now)
        for spec in registry
    )
    failures = sum(1 for row in rows if row.state == "failed")
    mean = overall(one.score for key, one in scored.items() if key[1] == name)
    state: RepoState
    if failures:
        state = "failing"
    elif mean is None:
        state = "no_score"
    else:
        state = "healthy" if mean >= 1.0 else "below_goal"
    parts = [f"{_SYMBOLS[state]} {_REPO_WORDS[state]}"]
    if failures:
        parts[0] += f": {failures} of {len(rows)} metrics failed"
    if mean is not None:
        parts.append(f"score {_score(mean)}")
    return RepoView(name, settings.branch, state, failures, mean, " · ".join(parts), rows)


def _row(spec: MetricSpec, state: SeriesState | None, is_served: bool, score: Score | None, now: float) -> MetricRow:
    labels = {} if state is None else {k: v for k, v in state.labels.items() if k not in BASE_LABELS}
    value = state.value if state is not None and is_served else None
    row_state: RowState
    if state is None:
        row_state, status = "pending", "… not computed yet"
    elif not state.ok:
        row_state, status = "failed", "⚠ failed" + ("; last good value shown" if value is not None else "")
    elif state.value is None:
        row_state, status = "no_data", "○ no data"
    else:
        row_state, status = "ok", "✓ ok"
    error = None
    if state is not None and not state.ok and state.last_error is not None:
        plain = PLAIN_REASONS.get(str(state.last_error.reason), str(state.last_error.reason))
        text = f"{plain}: {state.last_error.message}" if state.last_error.message else plain
        error = ErrorView(str(state.last_error.reason), text, _utc(state.last_error.at))
    value_at = state.value_at if state is not None and value is not None else None
    return MetricRow(
        key=spec.key,
        labels=labels,
        state=row_state,
        value=_value(value, spec.unit, spec.split.label if spec.split is not None else None),
        goal=_goal(spec.goal),
        verdict="" if score is None else ("✓ met" if score.met else "✗ missed"),
        met=None if score is None else score.met,
        score="" if score is None else _score(score.score),
        age_seconds=None if value_at is None else max(0.0, now - value_at),
        value_at="" if value_at is None else _utc(value_at),
        status=status,
        error=error,
    )


def _worst_first(repo: RepoView) -> tuple[int, float, str]:
    return (-repo.failures, repo.overall if repo.overall is not None else 2.0, repo.name.casefold())


def _value(value: float | Mapping[str, float] | None, unit: str, split: str | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, Mapping):  # a split metric: "p50 780, p90 972 seconds", "success 10, failure 2 runs"
        prefix = "p" if split == "percentile" else ""
        text = ", ".join(f"{prefix}{key} {_number(number)}" for key, number in value.items())
        return f"{text} {unit}".rstrip() if unit and unit != "flag" else text
    if unit == "flag":
        return "yes" if value >= 1 else "no"
    if value == 1 and unit.endswith("s"):
        unit = unit[:-1]  # "1 commit", "1 second"
    return f"{_number(value)} {unit}".rstrip()


def _number(value: float) -> str:
    return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"


def _goal(goal: Goal | None) -> str:
    if goal is None:
        return ""
    if goal.unit == "flag" and goal.met(1.0) != goal.met(0.0):
        return "yes" if goal.met(1.0) else "no"
    unit = f" {goal.unit}" if goal.unit else ""
    return f"{_COMPARISON_WORDS[goal.comparison]} {goal.target:g}{unit}"


def _score(score: float) -> str:
    return f"{math.floor(score * 100) / 100:.2f}"  # floored: a miss just below 1 never reads 1.00


def _rate_limit(snapshot: Snapshot) -> str:
    reported = snapshot.rate_limit
    if reported is None or reported.remaining is None:
        return "not reported by GitHub yet"
    text = f"{reported.remaining:,} requests left"
    if reported.limit:
        text = f"{reported.remaining:,} of {reported.limit:,} requests left"
    if reported.reset is not None:
        text += f", resets {_utc(reported.reset)}"
    return text


def _utc(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _count(number: int, one: str, many: str) -> str:
    return f"{number:,} {one if number == 1 else many}"
