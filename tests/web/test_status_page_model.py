"""The status page's model (exporter/web/status_page.py), from snapshots built by hand: no server, no browser."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime

from exporter.github.rate_limit import RateLimitSnapshot
from exporter.metrics.goals import Goal
from exporter.metrics.registry import MetricRegistry, MetricSpec, Split, default_registry
from exporter.refresh import RefreshResult, SeriesResult
from exporter.settings import Settings
from exporter.snapshot import Snapshot
from exporter.web.status_page import as_json, status_page
from tests.conftest import ORIGINAL_METRICS

T0 = 1_800_000_000.0
SETTINGS = Settings.from_env({"GITHUB_TOKEN": "t", "EXPORTER_REPOS": "o/configured"})
# The rows these tests count are those of the three original metrics (the registry grows with every issue).
THREE = MetricRegistry(spec for spec in default_registry() if spec.key in ORIGINAL_METRICS)


def result(*series: SeriesResult, rate_limit: RateLimitSnapshot | None = None) -> RefreshResult:
    """A refresh as the refresher makes one: it covered the repositories its series are of."""
    covered = tuple(dict.fromkeys(one.repo for one in series))
    return RefreshResult(
        started_at=datetime.fromtimestamp(T0, UTC), seconds=1.5, series=series, rate_limit=rate_limit, repos=covered
    )


def ok(key: str, repo: str, value: float | Mapping[str, float] | None) -> SeriesResult:
    return SeriesResult(key, repo, {"repo": repo, "branch": "main"}, value)


def failed(key: str, repo: str, reason: str = "timeout", message: str = "no answer in 10 s") -> SeriesResult:
    return SeriesResult(key, repo, {"repo": repo, "branch": "main"}, None, reason, message)  # type: ignore[arg-type]


def all_metrics(repo: str, hotfixes: float, reverts: float, green: float = 1.0) -> list[SeriesResult]:
    return [
        ok("ci.tests_passing_on_main", repo, green),
        ok("commits.hotfix", repo, hotfixes),
        ok("commits.reverts", repo, reverts),
    ]


def test_repositories_come_worst_first_failures_then_lowest_score_then_name() -> None:
    snapshot = Snapshot().apply(
        result(
            *all_metrics("o/a-perfect", 0, 0),
            *all_metrics("o/b-poor", 10, 4),  # hotfix score 0, reverts 0, CI 1: mean 1/3
            *all_metrics("o/c-fair", 5, 0),  # hotfix 0.83: mean 0.94
            *all_metrics("o/d-failing", 0, 0)[:2],
            failed("commits.reverts", "o/d-failing"),
            ok("ci.tests_passing_on_main", "o/e-no-data", None),
            ok("commits.hotfix", "o/e-no-data", None),
            ok("commits.reverts", "o/e-no-data", None),
        ),
        now=T0,
    )
    page = status_page(snapshot, THREE, SETTINGS, now=T0 + 30)
    assert [repo.name for repo in page.repos] == ["o/d-failing", "o/b-poor", "o/c-fair", "o/a-perfect", "o/e-no-data"]
    assert [repo.summary for repo in page.repos] == [
        "⚠ failing: 1 of 3 metrics failed · score 1.00",
        "▼ below goal · score 0.33",
        "▼ below goal · score 0.94",
        "✓ healthy · score 1.00",
        "○ no score",
    ]
    assert page.summary == "5 repositories · 1 failing · branch main"
    assert page.last_refresh == "2027-01-15 08:00:00 UTC, took 1.50 s" and page.last_refresh_age_seconds == 30


def test_a_failed_metric_keeps_its_last_good_value_and_says_why_in_plain_words_without_a_score() -> None:
    first = Snapshot().apply(result(*all_metrics("o/r", 2, 0)), now=T0)
    second = first.apply(result(failed("commits.hotfix", "o/r", "server_error", "GitHub answered 502")), now=T0 + 60)
    page = status_page(second, THREE, SETTINGS, now=T0 + 90)
    rows = {row.key: row for row in page.repos[0].rows}
    hotfix = rows["commits.hotfix"]
    assert (hotfix.state, hotfix.value, hotfix.status) == ("failed", "2 commits", "⚠ failed; last good value shown")
    assert (hotfix.score, hotfix.verdict, hotfix.met) == ("", "", None)
    assert hotfix.age_seconds == 90 and hotfix.value_at == "2027-01-15 08:00:00 UTC"
    assert hotfix.error is not None
    assert hotfix.error.text == "GitHub had a server error: GitHub answered 502"
    assert (hotfix.error.reason, hotfix.error.at) == ("server_error", "2027-01-15 08:01:00 UTC")
    assert rows["commits.reverts"].error is None and rows["commits.reverts"].status == "✓ ok"


def test_no_data_is_not_a_failure_and_a_value_too_old_to_serve_is_not_shown() -> None:
    snapshot = Snapshot().apply(result(ok("commits.hotfix", "o/r", None), ok("commits.reverts", "o/r", 3)), now=T0)
    page = status_page(snapshot, THREE, SETTINGS, now=T0 + SETTINGS.max_staleness_seconds + 1)
    rows = {row.key: row for row in page.repos[0].rows}
    assert (rows["commits.hotfix"].state, rows["commits.hotfix"].status, rows["commits.hotfix"].value) == (
        "no_data",
        "○ no data",
        "",
    )
    assert (rows["commits.reverts"].value, rows["commits.reverts"].age_seconds, rows["commits.reverts"].score) == (
        "",
        None,
        "",
    )
    assert rows["ci.tests_passing_on_main"].status == "… not computed yet"
    assert page.repos[0].failures == 0


def test_before_the_first_refresh_the_configured_repositories_are_listed_as_pending() -> None:
    page = status_page(Snapshot(), THREE, SETTINGS, now=T0)
    assert [repo.name for repo in page.repos] == ["o/configured"]
    assert {row.state for row in page.repos[0].rows} == {"pending"}
    assert (page.last_refresh, page.rate_limit) == ("not yet", "not reported by GitHub yet")


def test_rows_follow_the_registry_including_metrics_this_page_never_heard_of() -> None:
    def lead_time(data: object) -> float | None:
        return None

    registry = MetricRegistry(
        [
            MetricSpec(
                "dora.lead_time",
                "Lead time.",
                lead_time,  # type: ignore[arg-type]
                unit="hours",
                goal=Goal(24, "<", "hours", 24),
                split=Split("percentile", ("50", "90"), scored="50"),
            ),
            MetricSpec("ci.runs", "Runs.", lead_time, unit="runs", split=Split("conclusion", ("success", "failure"))),  # type: ignore[arg-type]
        ]
    )
    series = (
        ok("dora.lead_time", "o/r", {"50": 30.0, "90": 1234.5}),
        ok("ci.runs", "o/r", {"success": 9, "failure": 1}),
    )
    snapshot = Snapshot().apply(result(*series), now=T0)
    lead, runs = status_page(snapshot, registry, SETTINGS, now=T0).repos[0].rows
    assert (lead.key, lead.value, lead.goal) == ("dora.lead_time", "p50 30, p90 1,234 hours", "< 24 hours")
    assert (lead.verdict, lead.score) == ("✗ missed", "0.75")
    assert (runs.value, runs.goal, runs.score) == ("success 9, failure 1 runs", "", "")


def test_a_strict_goal_missed_at_its_target_never_reads_as_a_full_score() -> None:
    registry = MetricRegistry(
        [MetricSpec("commits.hotfix", "Hotfixes.", lambda data: None, unit="commits", goal=Goal(5, "<", "commits", 6))]
    )
    snapshot = Snapshot().apply(result(ok("commits.hotfix", "o/r", 5)), now=T0)
    (row,) = status_page(snapshot, registry, SETTINGS, now=T0).repos[0].rows
    assert (row.verdict, row.score) == ("✗ missed", "0.99")


def test_the_rate_limit_left_is_shown_with_its_reset_and_the_json_carries_the_same_rows() -> None:
    limit = RateLimitSnapshot(limit=5000, remaining=4321, reset=T0 + 3600)
    snapshot = Snapshot().apply(result(*all_metrics("o/r", 1, 0), rate_limit=limit), now=T0)
    refreshing_settings = Settings.from_env({"GITHUB_TOKEN": "t", "EXPORTER_REFRESH_TOKEN": "s3cret-refresh"})
    page = status_page(snapshot, THREE, refreshing_settings, now=T0, refreshing=True)
    assert page.rate_limit == "4,321 of 5,000 requests left, resets 2027-01-15 09:00:00 UTC"
    body = as_json(page)
    assert (body["refreshing"], body["token_required"]) == (True, True)
    assert [row["value"] for row in body["repos"][0]["rows"]] == ["yes", "1 commit", "0 commits"]
    assert "s3cret" not in json.dumps(body), "the refresh token is never shown"
