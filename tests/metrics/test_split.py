"""Split metrics: one more label whose values come from the data, from a set the registration declares."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from exporter.collector import HealthCollector
from exporter.demo import FakeGitHub
from exporter.github.credentials import TokenProvider
from exporter.github.source import GitHubSource
from exporter.metrics.goals import Goal
from exporter.metrics.registry import MetricRegistry, MetricSpec, Split, system_health_metric
from exporter.metrics.repo_data import RepoData
from exporter.metrics.scores import scores
from exporter.refresh import Refresher
from tests.conftest import NOW, commit, repo, run, settings_for
from tests.helpers import series

OUTCOMES = Split("outcome", ("good", "bad", "other"))


def spec_of(function: object) -> MetricSpec:
    found: MetricSpec = function.__system_health_metric__  # type: ignore[attr-defined]
    return found


def registry_with(*functions: object) -> MetricRegistry:
    return MetricRegistry(spec_of(function) for function in functions)


def refreshed(fake: FakeGitHub, metrics: MetricRegistry) -> tuple[Refresher, HealthCollector]:
    fake.add_repo(repo(runs=[run(1)], commits=[commit(1, "hotfix: a"), commit(2, "b")]))
    settings = settings_for(fake)
    refresher = Refresher(settings, metrics, GitHubSource(settings, TokenProvider(settings)), clock=lambda: NOW)
    return refresher, HealthCollector(settings, metrics, refresher, wall=lambda: NOW.timestamp())


def test_a_split_metric_serves_one_sample_per_value_it_returned_with_the_split_label(fake: FakeGitHub) -> None:
    @system_health_metric(metric_key="demo.outcomes", description="outcomes of commits", split=OUTCOMES)
    def outcomes(data: RepoData) -> Mapping[str, float]:
        hotfixes = sum(1 for c in data.recent_commits() if "hotfix" in c.message)
        return {"bad": float(hotfixes), "good": float(len(data.recent_commits()) - hotfixes)}

    metrics = registry_with(outcomes)
    assert metrics["demo.outcomes"].labels == ("repo", "branch", "outcome")
    refresher, collector = refreshed(fake, metrics)
    result = refresher()
    assert series(result, "demo.outcomes").value == {"good": 1.0, "bad": 1.0}  # in the declared order
    registry = CollectorRegistry(auto_describe=True)
    registry.register(collector)
    try:
        text = generate_latest(registry).decode()
    finally:
        collector.close(wait_seconds=30)
    assert 'demo_outcomes{branch="main",outcome="good",repo="octo/app"} 1.0' in text
    assert 'demo_outcomes{branch="main",outcome="bad",repo="octo/app"} 1.0' in text
    assert 'outcome="other"' not in text  # a value the function left out has no sample


@pytest.mark.parametrize(
    "answer",
    [{"undeclared": 1.0}, 3.0, {"good": "many"}],
    ids=["an undeclared value", "a plain number", "a value that is not a number"],
)
def test_a_split_metric_answering_off_its_declaration_fails_as_a_metric_error(fake: FakeGitHub, answer: object) -> None:
    @system_health_metric(metric_key="demo.outcomes", description="outcomes", split=OUTCOMES)
    def outcomes(data: RepoData) -> object:
        return answer

    refresher, collector = refreshed(fake, registry_with(outcomes))
    try:
        assert series(refresher(), "demo.outcomes").reason == "metric_error"
    finally:
        collector.close()


def test_a_plain_metric_answering_a_mapping_fails_as_a_metric_error(fake: FakeGitHub) -> None:
    @system_health_metric(metric_key="demo.plain", description="plain")
    def plain(data: RepoData) -> object:
        return {"good": 1.0}

    refresher, collector = refreshed(fake, registry_with(plain))
    try:
        assert series(refresher(), "demo.plain").reason == "metric_error"
    finally:
        collector.close()


def test_a_split_metric_with_a_goal_scores_its_declared_value_and_nothing_without_it(fake: FakeGitHub) -> None:
    percentiles = Split("percentile", ("50", "90"), scored="50")

    @system_health_metric(
        metric_key="demo.minutes", description="minutes", split=percentiles, goal=Goal(10.0, "<=", "minutes", 10.0)
    )
    def minutes(data: RepoData) -> Mapping[str, float]:
        return {"50": 15.0, "90": 40.0}

    @system_health_metric(
        metric_key="demo.tail", description="only a tail", split=percentiles, goal=Goal(10.0, "<=", "minutes", 10.0)
    )
    def tail(data: RepoData) -> Mapping[str, float]:
        return {"90": 40.0}

    metrics = registry_with(minutes, tail)
    refresher, collector = refreshed(fake, metrics)
    try:
        found = {score.key: score for score in scores(refresher().series, metrics)}
    finally:
        collector.close()
    assert found["demo.minutes"].met is False
    assert found["demo.minutes"].score == pytest.approx(0.5)  # the median, 5 past a target of 10, tolerance 10
    assert "demo.tail" not in found  # no median: no score, never 0 or 1


def test_a_split_metric_with_a_goal_must_say_which_value_is_scored() -> None:
    with pytest.raises(ValueError, match="must name the split value scored"):
        system_health_metric(
            metric_key="demo.minutes", description="minutes", split=Split("percentile", ("50",)), goal=Goal(1.0, "<=")
        )


def test_a_split_declares_distinct_values_and_scores_only_one_of_them() -> None:
    with pytest.raises(ValueError, match="distinct"):
        Split("outcome", ("good", "good"))
    with pytest.raises(ValueError, match="not one of"):
        Split("percentile", ("50",), scored="90")
