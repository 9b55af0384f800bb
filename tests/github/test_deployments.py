"""What reading deployments costs GitHub: facts kept across refreshes, conditional lists, nothing when switched off."""

from __future__ import annotations

from exporter.demo import FakeGitHub
from exporter.demo.model import FakeDeploymentStatus
from tests.conftest import DORA_ON, NOW, REPO, Wiring, later_metrics, run
from tests.metrics.test_dora import DORA, deploy_run, deployed, dora_repo, history


def cost(fake: FakeGitHub, refresh: object) -> tuple[int, int, list[str]]:
    """(requests, points, paths answered 200) of one refresh."""
    fake.clear_requests()
    points = fake.points_used
    refresh()  # type: ignore[operator]
    return len(fake.requests), fake.points_used - points, [r.path for r in fake.requests if r.status == 200]


def test_a_second_refresh_with_nothing_new_costs_no_point_and_reads_statuses_only_of_unfinished_deployments(
    fake: FakeGitHub, wire: Wiring
) -> None:
    deployments = [deployed(1, 9, 2.0), deployed(2, 6, 1.0, "failure"), deployed(3, 3, 0.5), deployed(4, 1, 0.1, None)]
    fake.add_repo(dora_repo(history(10, 0.25), deployments, runs=[run(1)]))
    exporter = wire(**DORA_ON)
    first = cost(fake, exporter.refresher)
    assert fake.count("/statuses") == 4
    requests, points, fresh = cost(fake, exporter.refresher)
    assert (points, fresh) == (0, [])
    assert [r.path for r in fake.requests if r.path.endswith("/statuses")] == [f"/repos/{REPO}/deployments/4/statuses"]
    # The three finished deployments' statuses are facts now (the run's jobs are read only for
    # EXPORTER_CI_REQUIRED_JOBS, so neither refresh asks them)
    assert requests == first[0] - 3


def test_a_new_deployment_costs_the_list_and_its_statuses(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(dora_repo(history(10, 0.25), [deployed(1, 9, 2.0), deployed(2, 6, 1.0)], runs=[run(1)]))
    exporter = wire(**DORA_ON)
    exporter.refresher()
    fake.repo(REPO).deployments.append(deployed(3, 3, 0.01))
    requests, points, fresh = cost(fake, exporter.refresher)
    assert (points, fresh) == (2, [f"/repos/{REPO}/deployments", f"/repos/{REPO}/deployments/3/statuses"])
    assert requests == 4  # runs and commits unchanged (304), then the two above


def test_a_deployment_that_finishes_is_read_once_more_then_kept(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(dora_repo(history(10, 0.25), [deployed(1, 9, 2.0), deployed(2, 3, 0.01, None)]))
    exporter = wire(**DORA_ON)
    assert exporter.refresher() and fake.count("/deployments/2/statuses") == 1
    fake.repo(REPO).deployments[1].statuses.append(FakeDeploymentStatus("success", NOW))
    result = exporter.refresher()
    assert [s.value for s in result.series if s.key == "dora.deployments"] == [2.0]
    fake.clear_requests()
    exporter.refresher()
    assert fake.count("/statuses") == 0


def test_with_the_dora_metrics_disabled_a_refresh_makes_exactly_the_requests_it_made_before_them(
    fake: FakeGitHub, wire: Wiring
) -> None:
    fake.add_repo(dora_repo(history(10, 0.25), [deployed(1, 9, 2.0), deployed(2, 3, 0.5)], runs=[run(1)]))
    result = wire(EXPORTER_METRICS_DISABLED=later_metrics()).refresher()
    assert {s.key for s in result.series}.isdisjoint(DORA)
    paths = sorted(r.path.rsplit("/", 1)[-1] for r in fake.requests)
    assert paths == ["commits", "runs"]  # the run's jobs are read only for EXPORTER_CI_REQUIRED_JOBS


def test_a_deploy_workflow_costs_two_lists_and_no_point_once_they_are_unchanged(fake: FakeGitHub, wire: Wiring) -> None:
    runs = [deploy_run(1, 38, 9.5, "success"), deploy_run(2, 20, 4.0, "success"), deploy_run(3, 6, 1.0, "failure")]
    fake.add_repo(dora_repo(history(40, 0.25), [], workflows=["checks.yml", "deploy.yml"], runs=runs))
    exporter = wire(**DORA_ON, EXPORTER_DEPLOY_SOURCE="workflow:deploy.yml")
    exporter.refresher()
    _, points, fresh = cost(fake, exporter.refresher)
    assert (points, fresh) == (0, [])
    assert sum(1 for r in fake.requests if r.path.endswith("/deploy.yml/runs")) == 2
