"""The metric registry."""

from __future__ import annotations

import types

import pytest

from exporter.metrics.goals import Goal
from exporter.metrics.registry import DuplicateMetricError, MetricRegistry, default_registry, system_health_metric
from exporter.metrics.repo_data import RepoData
from exporter.settings import Settings


def test_the_shipped_registry_lists_every_metric_module_by_module_the_oldest_gauge_first() -> None:
    assert [spec.key for spec in default_registry()] == [
        "ci.tests_passing_on_main",
        "ci.main_red_seconds",
        "ci.runs",
        "ci.flaky_runs",
        "ci.run_duration_seconds",
        "commits.hotfix",
        "commits.reverts",
        "prs.open",
        "prs.stale",
        "prs.merged",
        "prs.time_to_merge_seconds",
        "dora.deployments",
        "dora.lead_time_seconds",
        "dora.change_failure_rate",
        "dora.time_to_restore_seconds",
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


def test_the_shipped_metrics_carry_the_seed_goals() -> None:
    goals = {spec.key: spec.goal for spec in default_registry()}
    assert goals == {
        "ci.tests_passing_on_main": Goal(1.0, ">=", "flag", 0.0),
        "commits.hotfix": Goal(4.0, "<=", "commits", 6.0),
        "commits.reverts": Goal(0.0, "<=", "commits", 4.0),
        "ci.main_red_seconds": Goal(3600.0, "<=", "seconds", 82800.0),
        "ci.runs": None,
        "ci.flaky_runs": Goal(2.0, "<=", "runs", 8.0),
        "ci.run_duration_seconds": Goal(900.0, "<=", "seconds", 900.0),
        "prs.open": None,
        "prs.stale": Goal(3.0, "<=", "pull_requests", 7.0),
        "prs.merged": None,
        "prs.time_to_merge_seconds": Goal(86400.0, "<=", "seconds", 172800.0),
        "dora.deployments": Goal(5.0, ">=", "deployments", 5.0),
        "dora.lead_time_seconds": Goal(86400.0, "<", "seconds", 518400.0),
        "dora.change_failure_rate": Goal(0.15, "<=", "ratio", 0.3),
        "dora.time_to_restore_seconds": Goal(86400.0, "<", "seconds", 518400.0),
    }


def test_a_goal_takes_the_metrics_unit_and_a_different_unit_is_refused() -> None:
    def count(data: RepoData) -> float:
        return 0.0

    system_health_metric(metric_key="example.count", description="x", unit="runs", goal=Goal(1.0, "<", "", 1.0))(count)
    spec = count.__system_health_metric__  # type: ignore[attr-defined]
    assert (spec.unit, spec.goal) == ("runs", Goal(1.0, "<", "runs", 1.0))
    with pytest.raises(ValueError, match=r"'example\.count'.*'hours'.*'runs'"):
        system_health_metric(metric_key="example.count", description="x", unit="runs", goal=Goal(1.0, "<", "hours"))


def test_a_metric_registered_without_a_goal_has_none() -> None:
    @system_health_metric(metric_key="example.plain", description="x")
    def plain(data: RepoData) -> float:
        return 1.0

    assert plain.__system_health_metric__.goal is None  # type: ignore[attr-defined]


def test_configuring_with_the_defaults_changes_nothing() -> None:
    assert list(default_registry().configured(Settings.from_env({}))) == list(default_registry())
