"""What the DORA keys cost GitHub per refresh, per deploy source, on the demo repository.

`python -m bench.dora` (a few seconds). The demo repository (`exporter.demo.sample`) is realistic:
~150 commits over 14 days, 17 production deployments with statuses (one failed, the newest still
rolling out), a deploy.yml run for each, 6 releases. Each figure is one refresh of that repository
against the fake GitHub, counted as GitHub counts it (requests made, rate-limit points charged; a
304 is free): the three original metrics alone, then with the four DORA keys, cold and warm (a
second refresh with nothing new), then after one new deployment.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bench.common import Report, measure, running, wire
from exporter.demo import FakeGitHub, FakeRepo
from exporter.demo.model import FakeDeployment, FakeDeploymentStatus, FakeRelease, FakeRun, stable_int
from exporter.demo.sample import REPO, demo_repo
from exporter.metrics.registry import default_registry

DORA = ",".join(spec.key for spec in default_registry() if spec.key.startswith("dora."))
SOURCES = ("deployments:production", "workflow:deploy.yml", "releases")


def _new_deployment(repo: FakeRepo, source: str) -> None:
    """One more successful deployment of the newest commit, as the source shows it."""
    newest = max(repo.commits["main"], key=lambda c: c.committer_date)
    started = newest.committer_date + timedelta(minutes=1)
    if source.startswith("deployments"):
        repo.deployments.append(
            FakeDeployment(
                stable_int("bench-deploy"),
                newest.sha,
                started,
                statuses=[FakeDeploymentStatus("success", started + timedelta(minutes=5))],
            )
        )
    elif source.startswith("workflow"):
        repo.runs.append(
            FakeRun(9_200_000_000, "success", workflow_file="deploy.yml", head_sha=newest.sha, created_at=started)
        )
    else:
        repo.releases.append(FakeRelease("v2.0.0", created_at=started, published_at=started, sha=newest.sha))


def run(report: Report) -> None:
    for source in SOURCES:
        with running(FakeGitHub(repos=[demo_repo(FakeGitHub().clock())])) as fake:
            before = wire(fake, [REPO], EXPORTER_DEPLOY_SOURCE=source, EXPORTER_METRICS_DISABLED=DORA)
            base_cold, base_warm = measure(fake, before), measure(fake, before)
        with running(FakeGitHub(repos=[demo_repo(FakeGitHub().clock())])) as fake:
            wired = wire(fake, [REPO], EXPORTER_DEPLOY_SOURCE=source)
            cold, warm = measure(fake, wired), measure(fake, wired)
            _new_deployment(fake.repo(REPO), source)
            new = measure(fake, wired)
            (deployments,) = [s.value for s in new.result.series if s.key == "dora.deployments"]
        report.add(
            "dora",
            f"{source}: GETs, cold / warm / after a new deployment",
            f"{cold.requests} / {warm.requests} / {new.requests}",
            f"{base_cold.requests} / {base_warm.requests}",
            "without the DORA keys",
            "",
            f"the data kind: +{cold.requests - base_cold.requests} cold, +{warm.requests - base_warm.requests} warm",
        )
        report.add(
            "dora",
            f"{source}: points, cold / warm / after a new deployment",
            f"{cold.points} / {warm.points} / {new.points}",
            f"{base_cold.points} / {base_warm.points}",
            "without the DORA keys",
            "",
            f"{deployments:.0f} deployments in the window after the new one",
        )


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    report = Report()
    run(report)
    print(report.table())


if __name__ == "__main__":
    main()
