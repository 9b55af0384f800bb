"""The dashboard draws each goal and filters by the template variables its series carry."""

from __future__ import annotations

from typing import Any

from exporter.datadog.dashboard import dashboard
from exporter.metrics.registry import default_registry
from exporter.settings import Settings


def widget(title_start: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    settings = Settings.from_env(env or {})
    body = dashboard(default_registry().configured(settings), settings).body
    for group in body["widgets"]:
        for one in group["definition"]["widgets"]:
            if one["definition"].get("title", "").startswith(title_start):
                return dict(one["definition"])
    raise AssertionError(f"no widget titled {title_start}…")


def test_a_count_is_drawn_with_its_goal_and_where_the_score_reaches_zero() -> None:
    hotfix = widget("commits.hotfix")
    assert hotfix["type"] == "timeseries"
    assert [marker["value"] for marker in hotfix["markers"]] == ["y = 4", "y = 10"]
    (request,) = hotfix["requests"]
    assert request["queries"][0]["query"] == (
        "max:commits.hotfix{source:softmax-system-health,$env,$repo,$branch} by {repo,branch}"
    )


def test_a_flag_is_coloured_green_when_met_and_red_when_missed() -> None:
    ci = widget("ci.tests_passing_on_main")
    assert ci["type"] == "toplist"
    formats = ci["requests"][0]["formulas"][0]["conditional_formats"]
    assert [(f["comparator"], f["value"], f["palette"]) for f in formats] == [
        (">=", 1.0, "white_on_green"),
        ("<", 1.0, "white_on_red"),
    ]


def test_an_overridden_goal_is_what_the_dashboard_draws() -> None:
    hotfix = widget("commits.hotfix", {"EXPORTER_GOALS": "commits.hotfix<=2~2"})
    assert [marker["value"] for marker in hotfix["markers"]] == ["y = 2", "y = 4"]


def test_series_without_a_branch_tag_are_not_filtered_by_the_branch_variable() -> None:
    success = widget("system_health.exporter.metric_success")
    query = success["requests"][0]["queries"][0]["query"]
    assert "$repo" in query and "$branch" not in query


def test_the_env_variable_defaults_to_the_env_pushed_and_the_description_names_the_asset() -> None:
    settings = Settings.from_env({"DD_ENV": "production"})
    body = dashboard(default_registry(), settings).body
    env = next(v for v in body["template_variables"] if v["name"] == "env")
    assert env["defaults"] == ["production"]
    assert body["description"].endswith(
        "managed-by:system-health-exporter system-health-asset:dashboard.system-health env:production"
    )
