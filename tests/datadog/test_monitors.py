"""Monitors: thresholds from each goal and its tolerance, and the exporter's own four."""

from __future__ import annotations

from typing import Any

from exporter.datadog.monitors import VALUE_AGE_CRITICAL_SECONDS, monitors
from exporter.metrics.registry import default_registry
from exporter.settings import Settings


def by_asset(env: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    settings = Settings.from_env(env or {})
    return {asset.asset_id: dict(asset.body) for asset in monitors(default_registry().configured(settings), settings)}


def test_a_count_goal_warns_once_missed_and_is_critical_past_where_its_score_reaches_zero() -> None:
    hotfix = by_asset({"DD_ENV": "production"})["monitor.goal.commits.hotfix"]
    assert hotfix["query"] == (
        "min(last_30m):max:commits.hotfix{source:softmax-system-health,env:production} by {repo,branch} > 10"
    )
    assert hotfix["options"]["thresholds"] == {"critical": 10.0, "warning": 4.0}
    assert hotfix["options"]["notify_no_data"] is False
    assert 'EXPORTER_GOALS="commits.hotfix<=4~6"' in hotfix["message"]


def test_a_flag_goal_is_critical_below_its_target_with_no_warning_level() -> None:
    ci = by_asset()["monitor.goal.ci.tests_passing_on_main"]
    assert ci["query"].endswith("by {repo,branch} < 1")
    assert ci["query"].startswith("max(last_30m):min:ci.tests_passing_on_main{")
    assert ci["options"]["thresholds"] == {"critical": 1.0}


def test_an_overridden_goal_moves_its_monitors_thresholds() -> None:
    hotfix = by_asset({"EXPORTER_GOALS": "commits.hotfix<2~3"})["monitor.goal.commits.hotfix"]
    assert hotfix["query"].endswith(">= 5")
    assert hotfix["options"]["thresholds"] == {"critical": 5.0, "warning": 2.0}


def test_the_exporter_is_watched_for_failing_metrics_old_values_its_rate_limit_and_the_agents_health_check() -> None:
    found = by_asset({"DD_ENV": "prod"})
    assert found["monitor.exporter.metric-failing"]["query"].startswith(
        "max(last_1h):max:system_health.exporter.metric_success{source:softmax-system-health,env:prod}"
    )
    assert Settings.from_env({}).max_staleness_seconds > VALUE_AGE_CRITICAL_SECONDS  # else it could never fire
    assert "metric_value_age_seconds" in found["monitor.exporter.values-old"]["query"]
    assert "github_rate_limit_remaining" in found["monitor.exporter.rate-limit"]["query"]
    health = found["monitor.exporter.endpoint-health"]
    assert health["type"] == "service check"
    assert health["query"].startswith('"openmetrics.health".over("source:softmax-system-health","env:prod")')
    assert health["options"]["notify_no_data"] is True


def test_the_rate_limit_monitor_fires_before_the_exporter_stops_at_its_reserve() -> None:
    query = by_asset({"EXPORTER_RATE_LIMIT_RESERVE": "400"})["monitor.exporter.rate-limit"]["query"]
    assert query.endswith("< 800")


def test_every_monitor_carries_the_owner_tag_its_asset_id_and_env() -> None:
    for asset_id, body in by_asset({"DD_ENV": "Staging"}).items():
        assert {"managed-by:system-health-exporter", f"system-health-asset:{asset_id}", "env:staging"} <= set(
            body["tags"]
        )
