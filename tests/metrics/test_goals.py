"""Goals, health scores, their configuration (EXPORTER_GOALS, EXPORTER_METRICS_DISABLED) and their families."""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from exporter.cli import build
from exporter.demo import FakeGitHub, Fault
from exporter.metrics.goals import Comparison, Goal, GoalOverride, overall, parse_overrides
from exporter.metrics.registry import MetricRegistry, default_registry
from exporter.metrics.scores import Served, goal_families
from exporter.refresh import RefreshResult
from exporter.settings import Settings, SettingsError
from tests.conftest import Wiring, commit, later_metrics, repo, run, settings_for
from tests.processes import exporter_env
from tests.test_exposition import promtool_check

JUST_BELOW_ONE = math.nextafter(1.0, 0.0)


# --- Goal.met and Goal.score ---------------------------------------------------------------


@pytest.mark.parametrize(
    "comparison,target,tolerance,value,met,score",
    [
        ("<", 5, 5, 4, True, 1.0),
        ("<", 5, 5, -100, True, 1.0),
        ("<", 5, 5, 5, False, JUST_BELOW_ONE),  # a strict goal's target misses it: never 1
        ("<", 5, 5, 6, False, 0.8),
        ("<", 5, 5, 7.5, False, 0.5),
        ("<", 5, 5, 10, False, 0.0),
        ("<", 5, 5, 50, False, 0.0),
        ("<=", 5, 5, 5, True, 1.0),
        ("<=", 5, 5, 6, False, 0.8),
        ("<=", 5, 5, 10, False, 0.0),
        ("<=", 5, 5, 11, False, 0.0),
        (">", 1, 2, 2, True, 1.0),
        (">", 1, 2, 1, False, JUST_BELOW_ONE),
        (">", 1, 2, 0, False, 0.5),
        (">", 1, 2, -1, False, 0.0),
        (">", 1, 2, -9, False, 0.0),
        (">=", 0.9, 0.1, 0.9, True, 1.0),
        (">=", 0.9, 0.1, 1.0, True, 1.0),
        (">=", 0.9, 0.1, 0.85, False, 0.5),
        (">=", 0.9, 0.1, 0.8, False, 0.0),
        (">=", 0.9, 0.1, 0.0, False, 0.0),
        ("<", 1, 0, 0, True, 1.0),  # tolerance 0: a step
        ("<", 1, 0, 1, False, 0.0),
        ("<=", 0, 0, 0.001, False, 0.0),
        (">", 0, 0, 0, False, 0.0),
        (">=", 1, 0, 1, True, 1.0),
        (">=", 1, 0, 0.999, False, 0.0),
        (">=", 1, 0, math.inf, True, 1.0),
        ("<", 5, 5, math.inf, False, 0.0),
    ],
)
def test_the_score_is_1_when_met_and_falls_linearly_to_0_at_the_tolerance_past_the_target(
    comparison: Comparison, target: float, tolerance: float, value: float, met: bool, score: float
) -> None:
    goal = Goal(target, comparison, "things", tolerance)
    assert goal.met(value) is met
    assert goal.score(value) == pytest.approx(score, abs=1e-12)
    assert (goal.score(value) == 1.0) is met


@pytest.mark.parametrize("comparison", ["<", "<=", ">", ">="])
def test_a_missed_goal_never_scores_1_and_a_met_one_always_does(comparison: Comparison) -> None:
    goal = Goal(3.0, comparison, "", 2.0)
    for tenth in range(-20, 100):
        value = tenth / 10
        score = goal.score(value)
        assert 0.0 <= score <= 1.0
        assert (score == 1.0) is goal.met(value), value


@pytest.mark.parametrize("comparison", ["<", "<=", ">", ">="])
def test_the_score_never_rises_as_the_value_moves_further_past_the_target(comparison: Comparison) -> None:
    goal = Goal(3.0, comparison, "", 2.0)
    away = 1 if comparison.startswith("<") else -1
    scores = [goal.score(3.0 + away * step / 8) for step in range(0, 40)]
    assert scores == sorted(scores, reverse=True)
    assert scores[-1] == 0.0


@pytest.mark.parametrize(
    "target,comparison,tolerance,problem",
    [(1.0, "==", 1.0, "comparison"), (1.0, "<", -0.5, "tolerance"), (math.nan, "<", 1.0, "target")],
)
def test_a_goal_with_an_unknown_comparison_a_negative_tolerance_or_no_number_is_refused(
    target: float, comparison: Comparison, tolerance: float, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        Goal(target, comparison, "", tolerance)


def test_the_overall_score_is_the_mean_and_no_scores_give_no_overall() -> None:
    assert overall([1.0, 0.5, 0.0]) == pytest.approx(0.5)
    assert overall([]) is None


# --- EXPORTER_GOALS -----------------------------------------------------------------------


def test_overrides_read_key_operator_target_and_optional_tolerance_or_off() -> None:
    parsed = parse_overrides(" commits.hotfix < 3 ~ 5 ,commits.reverts=OFF, ci.tests_passing_on_main>=1, x.y<=-2.5e1,")
    assert parsed == (
        GoalOverride("commits.hotfix", "<", 3.0, 5.0),
        GoalOverride("commits.reverts", None),
        GoalOverride("ci.tests_passing_on_main", ">=", 1.0, None),
        GoalOverride("x.y", "<=", -25.0, None),
    )
    assert parse_overrides("") == ()


@pytest.mark.parametrize(
    "bad",
    [
        "commits.hotfix=3",
        "commits.hotfix=<3",
        "commits.hotfix==3",
        "commits.hotfix<<3",
        "commits.hotfix!3",
        "commits.hotfix",
        "commits.hotfix<",
        "commits.hotfix<x",
        "commits.hotfix<nan",
        "commits.hotfix<inf",
        "commits.hotfix<3~",
        "commits.hotfix<3~x",
        "commits.hotfix<3~-1",
        "commits.hotfix<3~1~2",
        "commits.hotfix<1,commits.hotfix<2",
    ],
)
def test_a_malformed_goal_stops_the_settings_naming_the_variable_the_metric_and_the_value(bad: str) -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env({"EXPORTER_GOALS": bad})
    message = str(error.value)
    assert f"EXPORTER_GOALS={bad!r}" in message
    assert message.count("commits.hotfix") >= 2  # in the value, and again in the problem


def test_an_override_replaces_the_goal_keeps_the_unit_and_keeps_the_tolerance_unless_given() -> None:
    settings = Settings.from_env({"EXPORTER_GOALS": "commits.hotfix<=3, commits.reverts<2~7"})
    metrics = default_registry().configured(settings)
    assert metrics["commits.hotfix"].goal == Goal(3.0, "<=", "commits", 6.0)
    assert metrics["commits.reverts"].goal == Goal(2.0, "<", "commits", 7.0)
    assert metrics["ci.tests_passing_on_main"].goal == default_registry()["ci.tests_passing_on_main"].goal


def test_off_switches_a_goal_off_and_leaves_the_metric_registered() -> None:
    metrics = default_registry().configured(Settings.from_env({"EXPORTER_GOALS": "commits.reverts=off"}))
    assert metrics["commits.reverts"].goal is None
    assert [spec.key for spec in metrics] == [spec.key for spec in default_registry()]


@pytest.mark.parametrize(
    "variable,value,unknown",
    [
        ("EXPORTER_GOALS", "commits.hotfixes<3", "commits.hotfixes"),
        ("EXPORTER_METRICS_DISABLED", "commits.reverts,commits.revert", "commits.revert"),
    ],
)
def test_an_unknown_metric_key_stops_the_wiring_naming_the_variable_the_value_and_the_known_keys(
    fake: FakeGitHub, variable: str, value: str, unknown: str
) -> None:
    with pytest.raises(SettingsError) as error:
        build(settings_for(fake, **{variable: value}))
    message = str(error.value)
    assert f"{variable}={value!r}" in message
    assert f"unknown metric {unknown!r}" in message
    assert all(spec.key in message for spec in default_registry())
    assert fake.requests == []


def test_an_unknown_metric_key_stops_a_real_start_with_exit_code_2_and_no_traceback() -> None:
    env = exporter_env(
        GITHUB_TOKEN="t", EXPORTER_GITHUB_API_URL="http://127.0.0.1:9", EXPORTER_METRICS_DISABLED="commits.revert"
    )
    done = subprocess.run(
        [sys.executable, "-m", "exporter", "report"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert "EXPORTER_METRICS_DISABLED='commits.revert'" in done.stderr
    assert "unknown metric 'commits.revert'" in done.stderr and "Traceback" not in done.stderr


# --- EXPORTER_METRICS_DISABLED ----------------------------------------------------------


def test_a_disabled_metric_is_not_in_the_registry_the_refresher_iterates(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(1)], commits=[commit(1, "hotfix"), commit(2, "Revert x")]))
    exporter = wire(EXPORTER_METRICS_DISABLED=f"commits.reverts,{later_metrics()}")
    assert [spec.key for spec in exporter.metrics] == ["ci.tests_passing_on_main", "commits.hotfix"]
    result = exporter.refresher()
    assert sorted(s.key for s in result.series) == ["ci.tests_passing_on_main", "commits.hotfix"]
    assert fake.count("/commits") == 1  # still read once, for the hotfix count
    exposition = generate_latest(exporter.registry).decode()
    assert "commits_reverts" not in exposition and 'commits_hotfix{branch="main",repo="octo/app"} 1.0' in exposition


def test_with_the_commit_metrics_disabled_a_refresh_makes_no_commits_request(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(1)], commits=[commit(n, "hotfix") for n in range(250)]))
    result = wire(EXPORTER_METRICS_DISABLED=f"commits.hotfix, commits.reverts,{later_metrics()}").refresher()
    assert [s.key for s in result.series] == ["ci.tests_passing_on_main"]
    assert fake.count("/commits") == 0
    assert len(fake.requests) == 1  # the runs (the run's jobs are read only for EXPORTER_CI_REQUIRED_JOBS)


def test_with_every_metric_disabled_a_refresh_asks_github_nothing(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(1)]))
    disabled = ",".join(spec.key for spec in default_registry())
    result = wire(EXPORTER_METRICS_DISABLED=disabled).refresher()
    assert (result.series, fake.requests) == ((), [])


# --- the families ------------------------------------------------------------------------


def samples(families: list[Metric]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(name, sorted labels): value} over the families' samples."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in families
        for sample in family.samples
    }


def score_of(found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float | None:
    return found.get((name, tuple(sorted({"branch": "main", **labels}.items()))))


def refreshed(fake: FakeGitHub, wire: Wiring, **env: str) -> tuple[RefreshResult, MetricRegistry]:
    exporter = wire(EXPORTER_REPOS="octo/app,octo/down,octo/new", **env)
    return exporter.refresher(), exporter.metrics


def add_three_repos(fake: FakeGitHub) -> None:
    """octo/app: all computed; octo/down: commits fail (500); octo/new: no CI run (no data)."""
    reverts = [commit(n, f"Revert change {n}") for n in range(3)]
    fake.add_repo(repo("octo/app", runs=[run(1)], commits=[commit(9, "hotfix: x"), commit(8, "hotfix: y"), *reverts]))
    fake.add_repo(repo("octo/down", runs=[run(2, "failure")]))
    fake.add_repo(repo("octo/new", runs=[], commits=[commit(1, "init")]))
    fake.inject(Fault(kind="status", status=500, path_regex=r"^/repos/octo/down/commits"))


def test_families_from_a_refresh_score_every_computed_series_and_nothing_failed_or_without_data(
    fake: FakeGitHub, wire: Wiring
) -> None:
    add_three_repos(fake)
    result, metrics = refreshed(fake, wire)
    met, score, overall_score = goal_families(result.series, metrics)
    assert (met.name, score.name, overall_score.name) == (
        "system_health_goal_met",
        "system_health_score",
        "system_health_score_overall",
    )
    found = samples([met, score, overall_score])
    ci, hotfix, reverts = "ci.tests_passing_on_main", "commits.hotfix", "commits.reverts"
    # octo/app: CI green, 2 hotfixes (<= 4), 3 reverts (<= 0 missed by 3 of a tolerance of 4).
    assert score_of(found, "system_health_goal_met", metric=ci, repo="octo/app") == 1.0
    assert score_of(found, "system_health_goal_met", metric=hotfix, repo="octo/app") == 1.0
    assert score_of(found, "system_health_goal_met", metric=reverts, repo="octo/app") == 0.0
    assert score_of(found, "system_health_score", metric=reverts, repo="octo/app") == pytest.approx(1 / 4)
    assert score_of(found, "system_health_score_overall", repo="octo/app") == pytest.approx((1 + 1 + 1 / 4) / 3)
    # octo/down: CI red scores 0; its failed commit metrics have no score at all.
    assert score_of(found, "system_health_goal_met", metric=ci, repo="octo/down") == 0.0
    assert score_of(found, "system_health_score", metric=ci, repo="octo/down") == 0.0
    for key in (hotfix, reverts):
        assert score_of(found, "system_health_goal_met", metric=key, repo="octo/down") is None
        assert score_of(found, "system_health_score", metric=key, repo="octo/down") is None
    assert score_of(found, "system_health_score_overall", repo="octo/down") == 0.0
    # octo/new: no CI run is no data, so no score; the commit metrics are met.
    assert score_of(found, "system_health_score", metric=ci, repo="octo/new") is None
    assert score_of(found, "system_health_score_overall", repo="octo/new") == 1.0
    assert len(met.samples) == len(score.samples) == 6  # 3 + 1 + 2
    assert len(overall_score.samples) == 3


def test_a_goal_switched_off_is_not_scored_and_leaves_the_overall_to_the_others(fake: FakeGitHub, wire: Wiring) -> None:
    add_three_repos(fake)
    result, metrics = refreshed(fake, wire, EXPORTER_GOALS="commits.reverts=off")
    found = samples(goal_families(result.series, metrics))
    assert score_of(found, "system_health_score", metric="commits.reverts", repo="octo/app") is None
    assert score_of(found, "system_health_score_overall", repo="octo/app") == 1.0


def test_a_repository_whose_every_metric_failed_has_no_overall_score(fake: FakeGitHub, wire: Wiring) -> None:
    add_three_repos(fake)
    fake.inject(Fault(kind="status", status=500, path_regex=r"^/repos/octo/down/"))
    result, metrics = refreshed(fake, wire)
    found = samples(goal_families(result.series, metrics))
    assert score_of(found, "system_health_score_overall", repo="octo/down") is None
    assert not [key for key in found if ("repo", "octo/down") in key[1]]


def test_with_nothing_served_the_families_are_empty() -> None:
    families = goal_families([], default_registry())
    assert [family.samples for family in families] == [[], [], []]


def test_a_served_value_kept_after_a_failure_is_not_scored() -> None:
    labels = {"repo": "o/r", "branch": "main"}
    kept = Served("commits.hotfix", labels, 2.0, ok=False)  # the last good value, served while refreshes fail
    fresh = Served("commits.reverts", labels, 0.0)
    _, score, overall_score = goal_families([kept, fresh], default_registry())
    assert [s.labels["metric"] for s in score.samples] == ["commits.reverts"]
    assert [s.value for s in overall_score.samples] == [1.0]


class _ScoresOnly(Collector):
    def __init__(self, result: RefreshResult, metrics: MetricRegistry) -> None:
        self._result, self._metrics = result, metrics

    def collect(self) -> Iterator[Metric]:
        yield from goal_families(self._result.series, self._metrics)


def test_promtool_finds_nothing_to_report_on_the_score_families(fake: FakeGitHub, wire: Wiring) -> None:
    add_three_repos(fake)
    registry = CollectorRegistry()
    registry.register(_ScoresOnly(*refreshed(fake, wire)))
    exposition = generate_latest(registry)
    assert b'system_health_score_overall{branch="main",repo="octo/app"}' in exposition
    checked = promtool_check(exposition)
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, "", "")
