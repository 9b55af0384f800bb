"""The catalog, the agent's mapping, the dashboard, the monitors and the SLOs all come from the registry."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from datadog_api_client.v1.model.dashboard import Dashboard
from datadog_api_client.v1.model.monitor import Monitor
from datadog_api_client.v1.model.service_level_objective_request import ServiceLevelObjectiveRequest

from exporter.datadog.agent_conf import shared_instance
from exporter.datadog.assets import as_model
from exporter.datadog.catalog_table import markdown
from exporter.datadog.dashboard import dashboard
from exporter.datadog.monitors import monitors
from exporter.datadog.names import queried_names
from exporter.datadog.slos import slos
from exporter.metrics import ci, commits
from exporter.metrics.goals import Goal
from exporter.metrics.registry import MetricRegistry, default_registry, system_health_metric
from exporter.metrics.repo_data import RepoData
from exporter.settings import Settings

METRIC_IN_QUERY = re.compile(r"\b(?:avg|sum|min|max):([A-Za-z0-9_.]+)\{")


@system_health_metric(
    metric_key="prs.waiting_for_review",
    description=(
        "Pull requests waiting for a review (a test-only metric). "
        'Example: prs_waiting_for_review{repo="o/r",branch="main"} 3'
    ),
    unit="pull requests",
    goal=Goal(10.0, "<=", "pull requests", 10.0),
)
def open_prs(data: RepoData) -> float:
    """Test only: never computed."""
    return 0.0


def with_open_prs() -> MetricRegistry:
    """The shipped metrics plus prs.waiting_for_review, in a registry of this test's own."""
    return MetricRegistry.from_modules(ci, commits, sys.modules[__name__])


def strings_under(document: Any, key: str) -> Iterator[str]:
    """Every string value of `key` anywhere in a JSON document."""
    if isinstance(document, dict):
        for name, value in document.items():
            if name == key and isinstance(value, str):
                yield value
            else:
                yield from strings_under(value, key)
    elif isinstance(document, list):
        for item in document:
            yield from strings_under(item, key)


def queried_metrics(document: Any) -> set[str]:
    """The metric names every `query` in a document names."""
    return {name for query in strings_under(document, "query") for name in METRIC_IN_QUERY.findall(query)}


@pytest.mark.parametrize(
    "registry", [default_registry(), with_open_prs()], ids=["shipped", "with-prs.waiting_for_review"]
)
def test_every_generated_object_loads_into_its_datadog_api_client_model_with_type_checking(
    registry: MetricRegistry,
) -> None:
    settings = Settings.from_env({"DD_ENV": "production"})
    board = as_model(dashboard(registry, settings).body, Dashboard)
    assert board._unparsed is False and len(board.widgets) >= 3
    for monitor in monitors(registry, settings):
        assert as_model(monitor.body, Monitor)._unparsed is False
    for slo in slos(registry, settings):
        assert as_model(slo.body, ServiceLevelObjectiveRequest)._unparsed is False


def test_an_unknown_widget_type_is_refused_although_the_client_would_only_mark_it_unparsed() -> None:
    body = dict(dashboard(default_registry(), Settings.from_env({})).body)
    body["widgets"] = [{"definition": {"type": "no_such_widget", "title": "x"}}]
    with pytest.raises(TypeError, match="does not know"):
        as_model(body, Dashboard)


@pytest.mark.parametrize(
    "registry", [default_registry(), with_open_prs()], ids=["shipped", "with-prs.waiting_for_review"]
)
def test_every_query_names_only_metrics_the_catalog_lists(registry: MetricRegistry) -> None:
    settings = Settings.from_env({})
    documents = [dashboard(registry, settings).body] + [a.body for a in monitors(registry, settings)]
    documents += [a.body for a in slos(registry, settings)]
    named = set().union(*(queried_metrics(document) for document in documents))
    assert named and named <= queried_names(registry), named - queried_names(registry)


def test_a_metric_added_to_a_registry_appears_in_the_catalog_the_agent_mapping_the_dashboard_a_monitor_and_an_slo() -> (
    None
):
    registry = with_open_prs()
    settings = Settings.from_env({})

    assert (
        "| `prs_waiting_for_review` | `prs.waiting_for_review` | gauge | pull requests | repo, branch "
        "| <= 10 pull requests" in markdown(registry)
    )
    assert {"prs_waiting_for_review": {"name": "prs.waiting_for_review", "type": "gauge"}} in shared_instance(registry)[
        "metrics"
    ]
    groups = {
        group["definition"]["title"]: group["definition"]["widgets"]
        for group in dashboard(registry, settings).body["widgets"]
    }
    assert "prs.waiting_for_review" in queried_metrics(groups["Pull requests"])
    assert "monitor.goal.prs.waiting_for_review" in {asset.asset_id for asset in monitors(registry, settings)}
    assert "slo.goal.prs.waiting_for_review" in {asset.asset_id for asset in slos(registry, settings)}

    shipped = default_registry()
    assert "prs_waiting_for_review" not in markdown(shipped)
    assert "prs.waiting_for_review" not in queried_metrics(dashboard(shipped, settings).body)


def test_the_dashboard_has_a_group_per_area_in_registry_order_between_the_score_and_the_exporters_health() -> None:
    body = dashboard(with_open_prs(), Settings.from_env({})).body
    titles = [group["definition"]["title"] for group in body["widgets"]]
    assert titles == ["Health score", "CI", "Commits", "Pull requests", "Exporter health"]
    assert [v["name"] for v in body["template_variables"]] == ["repo", "branch", "env"]


def test_a_switched_off_goal_has_no_monitor_and_no_slo_and_a_disabled_metric_no_widget() -> None:
    settings = Settings.from_env(
        {"EXPORTER_GOALS": "commits.reverts=off", "EXPORTER_METRICS_DISABLED": "commits.hotfix"}
    )
    registry = default_registry().configured(settings)
    assert "monitor.goal.commits.reverts" not in {a.asset_id for a in monitors(registry, settings)}
    assert "slo.goal.commits.reverts" not in {a.asset_id for a in slos(registry, settings)}
    assert "commits.reverts" in queried_metrics(dashboard(registry, settings).body)
    assert "commits.hotfix" not in queried_metrics(dashboard(registry, settings).body)
