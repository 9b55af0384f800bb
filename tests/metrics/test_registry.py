"""The metric registry."""

from __future__ import annotations

import types

import pytest

from exporter.metrics.registry import DuplicateMetricError, MetricRegistry, default_registry, system_health_metric
from exporter.metrics.repo_data import RepoData


def test_the_shipped_registry_holds_the_three_old_gauges_in_order() -> None:
    assert [spec.key for spec in default_registry()] == [
        "ci.tests_passing_on_main",
        "commits.hotfix",
        "commits.reverts",
    ]
    assert next(spec.name for spec in default_registry()) == "ci_tests_passing_on_main"


def test_registering_a_key_twice_is_an_error_naming_the_key() -> None:
    def first(data: RepoData) -> float:
        return 1.0

    def second(data: RepoData) -> float:
        return 2.0

    module = types.ModuleType("metrics_under_test")
    module.first = system_health_metric(metric_key="commits.hotfix", description="a")(first)  # type: ignore[attr-defined]
    module.second = system_health_metric(metric_key="commits.hotfix", description="b")(second)  # type: ignore[attr-defined]
    with pytest.raises(DuplicateMetricError, match=r"'commits\.hotfix'"):
        MetricRegistry.from_modules(module)


def test_a_key_that_is_not_dotted_snake_case_is_refused() -> None:
    with pytest.raises(ValueError, match="Commits-Hotfix"):
        system_health_metric(metric_key="Commits-Hotfix", description="x")


def test_decorating_leaves_the_function_callable_and_registers_nothing_globally() -> None:
    @system_health_metric(metric_key="example.constant", description="x")
    def constant(data: RepoData) -> float:
        return 3.0

    assert constant(None) == 3.0  # type: ignore[arg-type]
    assert "example.constant" not in [spec.key for spec in default_registry()]
