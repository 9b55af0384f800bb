"""The system-health dashboard: a group per area of the registry, one widget per metric, its goal drawn.

Areas are the first part of a metric key (`ci`, `commits`, `prs`, `dora`, …), in registry order, so
a metric registered in a new module appears here without an edit. Before them, the health score;
after them, the exporter's own health. Every query names a metric of the catalog and filters on the
template variables whose tag its series carry (`repo`, `branch`, `env`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from exporter.catalog import GOAL_MET, SCORE, SCORE_OVERALL
from exporter.datadog.assets import PUSH_COMMAND, TITLE_PREFIX, Asset, env_of, identity_line, metric_query
from exporter.datadog.catalog_table import goal_text
from exporter.datadog.names import SOURCE_TAG, DatadogMetric, datadog_metrics
from exporter.metrics.goals import Goal
from exporter.metrics.registry import MetricRegistry, MetricSpec
from exporter.settings import Settings

ASSET_ID = "dashboard.system-health"
TEMPLATE_VARIABLES = ("repo", "branch", "env")
AREA_TITLES = {"ci": "CI", "commits": "Commits", "prs": "Pull requests", "dora": "DORA"}
# Own families not graphed: the info gauge is always 1, and a Unix timestamp on a graph says less than
# metric_value_age_seconds, which is graphed.
NOT_GRAPHED_SUFFIXES = ("_timestamp_seconds",)
# The overall score is a mean of scores in [0, 1]: 1 is every goal met; below 0.5, more than half the
# goals' worth is lost.
OVERALL_YELLOW_FROM = 0.5
HEALTH_CHECK = "openmetrics.health"


def _filters(labels: Sequence[str]) -> list[str]:
    """The source tag, then the template variables whose tag these series carry (every series has `env`)."""
    return [SOURCE_TAG, "$env", *(f"${name}" for name in ("repo", "branch") if name in labels)]


def _request(
    query: str, response_format: str, conditional_formats: list[dict[str, Any]] | None = None, **extra: Any
) -> dict[str, Any]:
    """A formula request of one metric query; a scalar shows the last value, coloured by `conditional_formats`."""
    metric_query_definition: dict[str, Any] = {"data_source": "metrics", "name": "query1", "query": query}
    if response_format == "scalar":
        metric_query_definition["aggregator"] = "last"
    formula: dict[str, Any] = {"formula": "query1"}
    if conditional_formats:
        formula["conditional_formats"] = conditional_formats
    return {"response_format": response_format, "queries": [metric_query_definition], "formulas": [formula], **extra}


def _negated(comparison: str) -> str:
    return {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}[comparison]


def zero_score_at(goal: Goal) -> float:
    """The value at which the score reaches 0: the target plus (or minus) the tolerance."""
    return goal.target + goal.tolerance if goal.comparison in ("<", "<=") else goal.target - goal.tolerance


def conditional_formats(goal: Goal) -> list[dict[str, Any]]:
    """Green where the goal is met, red where the score is 0, yellow in between (first match wins)."""
    formats: list[dict[str, Any]] = [{"comparator": goal.comparison, "value": goal.target, "palette": "white_on_green"}]
    if goal.tolerance > 0:
        worst = ">=" if goal.comparison in ("<", "<=") else "<="
        formats.append({"comparator": worst, "value": zero_score_at(goal), "palette": "white_on_red"})
        formats.append({"comparator": _negated(goal.comparison), "value": goal.target, "palette": "white_on_yellow"})
    else:
        formats.append({"comparator": _negated(goal.comparison), "value": goal.target, "palette": "white_on_red"})
    return formats


def markers(goal: Goal) -> list[dict[str, Any]]:
    """The goal's target as a dashed line, and where the score reaches 0 as a red one."""
    drawn = [{"value": f"y = {goal.target:g}", "display_type": "ok dashed", "label": f"goal {goal_text(goal)}"}]
    if goal.tolerance > 0:
        drawn.append({"value": f"y = {zero_score_at(goal):g}", "display_type": "error dashed", "label": "score 0"})
    return drawn


def worst(goal: Goal | None) -> str:
    """The aggregation that shows the worst of several series: max when lower is better, else min."""
    if goal is None:
        return "avg"
    return "max" if goal.comparison in ("<", "<=") else "min"


def metric_widget(spec: MetricSpec, metric: DatadogMetric) -> dict[str, Any]:
    """A flag as a toplist coloured by its goal; any other metric as a timeseries with its goal drawn."""
    by = [label for label in spec.labels if label in ("repo", "branch")]
    query = metric_query(worst(spec.goal), metric.queried, _filters(spec.labels), by)
    title = f"{spec.key} ({goal_text(spec.goal)})" if spec.goal is not None else spec.key
    if spec.unit == "flag":
        formats = conditional_formats(spec.goal) if spec.goal is not None else []
        request = _request(query, "scalar", conditional_formats=formats)
        return {"definition": {"type": "toplist", "title": title, "requests": [request]}}
    definition: dict[str, Any] = {
        "type": "timeseries",
        "title": title,
        "show_legend": True,
        "requests": [_request(query, "timeseries", display_type="line")],
    }
    if spec.goal is not None:
        definition["markers"] = markers(spec.goal)
    return {"definition": definition}


def _group(title: str, widgets: list[dict[str, Any]]) -> dict[str, Any]:
    return {"definition": {"type": "group", "layout_type": "ordered", "title": title, "widgets": widgets}}


def score_group(by_name: dict[str, DatadogMetric]) -> dict[str, Any]:
    """The overall score, by repository, by metric, and which goals are missed."""
    overall = by_name[SCORE_OVERALL.name]
    score = by_name[SCORE.name]
    met = by_name[GOAL_MET.name]
    overall_formats = [
        {"comparator": ">=", "value": 1, "palette": "white_on_green"},
        {"comparator": ">=", "value": OVERALL_YELLOW_FROM, "palette": "white_on_yellow"},
        {"comparator": "<", "value": OVERALL_YELLOW_FROM, "palette": "white_on_red"},
    ]
    met_formats = [
        {"comparator": ">=", "value": 1, "palette": "white_on_green"},
        {"comparator": "<", "value": 1, "palette": "white_on_red"},
    ]
    filters = _filters(SCORE.labels)
    widgets: list[dict[str, Any]] = [
        {
            "definition": {
                "type": "query_value",
                "title": "Overall health score (1: every goal met)",
                "precision": 2,
                "requests": [
                    _request(
                        metric_query("avg", overall.queried, filters), "scalar", conditional_formats=overall_formats
                    )
                ],
            }
        },
        {
            "definition": {
                "type": "timeseries",
                "title": "Overall score by repository",
                "show_legend": True,
                "requests": [
                    _request(
                        metric_query("min", overall.queried, filters, ["repo", "branch"]),
                        "timeseries",
                        display_type="line",
                    )
                ],
                "markers": [{"value": "y = 1", "display_type": "ok dashed", "label": "every goal met"}],
            }
        },
        {
            "definition": {
                "type": "toplist",
                "title": "Score by metric and repository",
                "requests": [_request(metric_query("min", score.queried, filters, ["metric", "repo"]), "scalar")],
            }
        },
        {
            "definition": {
                "type": "toplist",
                "title": "Goal met (1) or missed (0), by metric and repository",
                "requests": [
                    _request(
                        metric_query("min", met.queried, filters, ["metric", "repo"]),
                        "scalar",
                        conditional_formats=met_formats,
                    )
                ],
            }
        },
    ]
    return _group("Health score", widgets)


def own_widget(metric: DatadogMetric) -> dict[str, Any]:
    """A timeseries of one of the exporter's own families (counters as bars of counts)."""
    labels = list(metric.entry.labels)
    filters = _filters(labels)
    if metric.type == "counter":
        query = metric_query("sum", metric.queried, filters, labels) + ".as_count()"
        display = "bars"
    else:
        lowest_is_worst = metric.entry.name.endswith(("_metric_success", "_remaining"))
        query = metric_query("min" if lowest_is_worst else "max", metric.queried, filters, labels)
        display = "line"
    return {
        "definition": {
            "type": "timeseries",
            "title": metric.queried,
            "show_legend": True,
            "requests": [_request(query, "timeseries", display_type=display)],
        }
    }


def exporter_group(own: list[DatadogMetric]) -> dict[str, Any]:
    """The agent's health check of the endpoint, then one widget per own family worth graphing."""
    widgets: list[dict[str, Any]] = [
        {
            "definition": {
                "type": "check_status",
                "title": f"Agent's check of the exporter's /metrics ({HEALTH_CHECK})",
                "check": HEALTH_CHECK,
                "grouping": "cluster",
                "tags": [SOURCE_TAG, "$env"],
            }
        }
    ]
    widgets += [
        own_widget(metric)
        for metric in own
        if metric.entry.kind != "info" and not metric.entry.name.endswith(NOT_GRAPHED_SUFFIXES)
    ]
    return _group("Exporter health", widgets)


def dashboard_body(registry: MetricRegistry, settings: Settings) -> dict[str, Any]:
    """The dashboard as `POST /api/v1/dashboard` takes it."""
    env = env_of(settings)
    metrics = datadog_metrics(registry)
    by_name = {metric.entry.name: metric for metric in metrics}
    areas: dict[str, list[dict[str, Any]]] = {}
    for spec in registry:
        areas.setdefault(spec.key.split(".", 1)[0], []).append(metric_widget(spec, by_name[spec.name]))
    registry_names = {spec.name for spec in registry}
    scores = {GOAL_MET.name, SCORE.name, SCORE_OVERALL.name}
    own = [metric for metric in metrics if metric.entry.name not in registry_names | scores]
    groups = [score_group(by_name)]
    groups += [_group(AREA_TITLES.get(area, area.capitalize()), widgets) for area, widgets in areas.items()]
    groups.append(exporter_group(own))
    return {
        "title": f"{TITLE_PREFIX} System health ({env})",
        "description": (
            "Engineering system health from GitHub, computed by system-health-exporter: CI on the watched branch, "
            "hotfixes, reverts and the other registered metrics, each against its goal (dashed line; red: score 0). "
            "Metric reference: docs/metrics.md. Generated from the metric registry and kept by "
            f"`{PUSH_COMMAND}`: edits made here are overwritten at the next push.\n\n{identity_line(ASSET_ID, env)}"
        ),
        "layout_type": "ordered",
        "template_variables": [
            {"name": name, "prefix": name, "available_values": [], "defaults": [env if name == "env" else "*"]}
            for name in TEMPLATE_VARIABLES
        ],
        "widgets": groups,
    }


def dashboard(registry: MetricRegistry, settings: Settings) -> Asset:
    """The dashboard asset for this registry and env."""
    return Asset("dashboard", ASSET_ID, env_of(settings), dashboard_body(registry, settings))
