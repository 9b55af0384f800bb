"""Monitors: one per goal of the registry, and four on the exporter itself.

A goal monitor watches the metric itself, grouped by repository and branch. Its comparator is the
goal's negation, so the warning threshold is the target exactly: warning as soon as the goal is
missed; critical past `target ± tolerance`, where the score has reached 0. With a tolerance of 0
(a flag) there is only the critical threshold: `ci.tests_passing_on_main >= 1` is critical below 1.
"No data" never alerts here: the exporter omits a series it has no data for, and its own monitors
(a metric failing, values too old, the endpoint down) say when data is missing for a bad reason.
"""

from __future__ import annotations

from typing import Any

from exporter.catalog import METRIC_SUCCESS, METRIC_VALUE_AGE, RATE_LIMIT_REMAINING
from exporter.datadog.assets import (
    PUSH_COMMAND,
    TITLE_PREFIX,
    Asset,
    asset_tags,
    env_of,
    metric_query,
    series_filters,
)
from exporter.datadog.catalog_table import goal_text
from exporter.datadog.dashboard import worst, zero_score_at
from exporter.datadog.names import SELF_NAMESPACE
from exporter.metrics.goals import Goal
from exporter.metrics.registry import MetricRegistry, MetricSpec
from exporter.settings import Settings

# The agent scrapes every 15 minutes: a 30-minute window holds two scrapes, and a goal monitor fires
# only when both miss (min over the window for "above", max for "below"), so one odd refresh does not page.
GOAL_WINDOW = "last_30m"
# A metric that has failed in every scrape for an hour (four scrapes, four refreshes) is not a blip.
FAILING_WINDOW = "last_1h"
# A healthy value is at most a scrape interval plus the cache TTL old (900 + 300 s); the exporter drops
# a value at EXPORTER_MAX_STALENESS_SECONDS (3600 by default), so the thresholds stay below that.
VALUE_AGE_WARNING_SECONDS = 1800
VALUE_AGE_CRITICAL_SECONDS = 2700
# A token has 5000 requests an hour; a refresh of one repository costs a few. The exporter stops
# calling GitHub under EXPORTER_RATE_LIMIT_RESERVE; these fire before that, at least twice the reserve.
RATE_LIMIT_WARNING = 1000
RATE_LIMIT_CRITICAL = 250
# Two failed runs of the agent's check in a row (30 minutes at its 15-minute interval); no report
# for three intervals means the agent or the check is gone.
HEALTH_CHECK_RUNS = 2
HEALTH_NO_DATA_MINUTES = 45

_NEGATED = {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}


def goal_asset_id(key: str) -> str:
    """The asset id of the monitor on `key`'s goal."""
    return f"monitor.goal.{key}"


def _override_example(spec: MetricSpec, goal: Goal) -> str:
    tolerance = f"~{goal.tolerance:g}" if goal.tolerance else ""
    return f"{spec.key}{goal.comparison}{goal.target:g}{tolerance}"


def goal_monitor(spec: MetricSpec, goal: Goal, settings: Settings) -> dict[str, Any]:
    """The monitor on one metric's goal, as `POST /api/v1/monitor` takes it."""
    comparator = _NEGATED[goal.comparison]
    above = comparator in (">", ">=")
    window = f"{'min' if above else 'max'}({GOAL_WINDOW})"
    by = [label for label in spec.labels if label in ("repo", "branch")]
    critical = zero_score_at(goal)
    query = f"{window}:{metric_query(worst(goal), spec.key, series_filters(settings), by)} {comparator} {critical:g}"
    thresholds: dict[str, float] = {"critical": critical}
    where = "above" if above else "below"
    if goal.tolerance > 0:
        thresholds["warning"] = goal.target
        levels = (
            f"Warning: {where} {goal.target:g}, the goal is missed. "
            f"Critical: {where} {critical:g}, past the point where the score reaches 0."
        )
    else:
        levels = f"Critical: {where} {critical:g}, the goal is missed (a pass/fail goal: no warning level)."
    group = " ".join(f"{{{{{label}.name}}}}" for label in by)
    message = (
        f"{spec.key} is {{{{value}}}} on {group}. Goal: {goal_text(goal)}. {levels}\n\n"
        f"What it measures: {spec.description}\n\n"
        f"The goal is registered with the metric (exporter/metrics/); the exporter's EXPORTER_GOALS overrides it, "
        f'e.g. EXPORTER_GOALS="{_override_example(spec, goal)}". Run `{PUSH_COMMAND}` with the same '
        "EXPORTER_GOALS so that this monitor follows. No data does not alert here: the exporter's own monitors "
        f"({TITLE_PREFIX} exporter …) say when a metric fails or its values grow old."
    )
    return {
        "name": f"{TITLE_PREFIX} {spec.key} misses its goal ({goal_text(goal)}) on {group}",
        "type": "query alert",
        "query": query,
        "message": message,
        "tags": asset_tags(goal_asset_id(spec.key), env_of(settings), settings),
        "options": {
            "thresholds": thresholds,
            "notify_no_data": False,
            "require_full_window": False,
            "include_tags": True,
        },
    }


def _own(asset_id: str, settings: Settings, **fields: Any) -> dict[str, Any]:
    options = {"notify_no_data": False, "require_full_window": False, "include_tags": True}
    options.update(fields.pop("options"))
    return {**fields, "tags": asset_tags(asset_id, env_of(settings), settings), "options": options}


def _own_name(catalog_name: str) -> str:
    return f"{SELF_NAMESPACE}.{catalog_name.removeprefix('system_health_exporter_')}"


def exporter_monitors(settings: Settings) -> list[tuple[str, dict[str, Any]]]:
    """(asset id, body) of the monitors on the exporter itself."""
    filters = series_filters(settings)
    success = metric_query("max", _own_name(METRIC_SUCCESS.name), filters, ["repo", "metric"])
    age = metric_query("max", _own_name(METRIC_VALUE_AGE.name), filters, ["repo", "metric"])
    remaining = metric_query("min", _own_name(RATE_LIMIT_REMAINING.name), filters)
    rate_critical = max(RATE_LIMIT_CRITICAL, 2 * settings.rate_limit_reserve)
    rate_warning = max(RATE_LIMIT_WARNING, 2 * rate_critical)
    check_tags = ",".join(f'"{tag}"' for tag in filters)
    return [
        (
            "monitor.exporter.metric-failing",
            _own(
                "monitor.exporter.metric-failing",
                settings,
                name=f"{TITLE_PREFIX} exporter: {{{{metric.name}}}} fails on {{{{repo.name}}}}",
                type="query alert",
                query=f"max({FAILING_WINDOW}):{success} < 1",
                message=(
                    "The exporter has failed to compute {{metric.name}} for {{repo.name}} in every refresh for "
                    f"{FAILING_WINDOW.removeprefix('last_')} (system_health.exporter.metric_success is 0). "
                    "The last good value is served until EXPORTER_MAX_STALENESS_SECONDS, then dropped. "
                    "The reason is in system_health.exporter.refresh_errors.count{reason} and the exporter's log; "
                    "`python -m exporter report` shows it too."
                ),
                options={"thresholds": {"critical": 1}},
            ),
        ),
        (
            "monitor.exporter.values-old",
            _own(
                "monitor.exporter.values-old",
                settings,
                name=f"{TITLE_PREFIX} exporter: {{{{metric.name}}}} values are old on {{{{repo.name}}}}",
                type="query alert",
                query=f"min({GOAL_WINDOW}):{age} > {VALUE_AGE_CRITICAL_SECONDS}",
                message=(
                    "The value of {{metric.name}} served for {{repo.name}} is {{value}} seconds old: refreshes have "
                    f"not renewed it. Warning past {VALUE_AGE_WARNING_SECONDS} s, critical past "
                    f"{VALUE_AGE_CRITICAL_SECONDS} s; a healthy value is under a scrape interval plus "
                    "EXPORTER_CACHE_TTL_SECONDS (1200 s by default), and the exporter drops it at "
                    "EXPORTER_MAX_STALENESS_SECONDS."
                ),
                options={"thresholds": {"critical": VALUE_AGE_CRITICAL_SECONDS, "warning": VALUE_AGE_WARNING_SECONDS}},
            ),
        ),
        (
            "monitor.exporter.rate-limit",
            _own(
                "monitor.exporter.rate-limit",
                settings,
                name=f"{TITLE_PREFIX} exporter: GitHub rate-limit budget low",
                type="query alert",
                query=f"max({GOAL_WINDOW}):{remaining} < {rate_critical}",
                message=(
                    "GitHub reports {{value}} requests left for the exporter's token before the hourly reset. "
                    f"Warning under {rate_warning}, critical under {rate_critical}. Under "
                    f"EXPORTER_RATE_LIMIT_RESERVE ({settings.rate_limit_reserve}) refreshes stop calling GitHub "
                    "until the reset and every series fails with rate_limited. Another user of the token, or "
                    "EXPORTER_CONDITIONAL_REQUESTS=false, are the usual causes."
                ),
                options={"thresholds": {"critical": rate_critical, "warning": rate_warning}},
            ),
        ),
        (
            "monitor.exporter.endpoint-health",
            _own(
                "monitor.exporter.endpoint-health",
                settings,
                name=f"{TITLE_PREFIX} exporter: the agent cannot scrape /metrics",
                type="service check",
                query=(
                    f'"openmetrics.health".over({check_tags}).by("host")'
                    f".last({HEALTH_CHECK_RUNS + 1}).count_by_status()"
                ),
                message=(
                    "The Datadog agent's OpenMetrics check could not read the exporter's /metrics "
                    f"({HEALTH_CHECK_RUNS} runs in a row), or stopped reporting: no system-health series arrive. "
                    "Check the exporter's pod (GET /healthz) and the agent's `datadog-agent status`."
                ),
                options={
                    "thresholds": {"critical": HEALTH_CHECK_RUNS, "warning": 1, "ok": 1},
                    "notify_no_data": True,
                    "no_data_timeframe": HEALTH_NO_DATA_MINUTES,
                },
            ),
        ),
    ]


def monitors(registry: MetricRegistry, settings: Settings) -> list[Asset]:
    """Every monitor: one per goal of the registry (as configured), then the exporter's own."""
    env = env_of(settings)
    assets = [
        Asset("monitor", goal_asset_id(spec.key), env, goal_monitor(spec, spec.goal, settings))
        for spec in registry
        if spec.goal is not None
    ]
    assets += [Asset("monitor", asset_id, env, body) for asset_id, body in exporter_monitors(settings)]
    return assets
