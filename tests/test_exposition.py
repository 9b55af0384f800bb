"""The exposition as Prometheus' own linter sees it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from exporter.demo import FakeGitHub, Fault
from exporter.demo.sample import REPO as DEMO_REPO
from exporter.demo.sample import demo_repo
from tests.conftest import FLOW_ON, NOW, Wiring, commit, repo, run

PROMTOOL = Path(__file__).resolve().parents[1] / ".tools/prometheus/usr/bin/promtool"


def promtool_check(exposition: bytes) -> subprocess.CompletedProcess[str]:
    if not PROMTOOL.exists():
        pytest.fail(f"promtool missing at {PROMTOOL}: run scripts/setup/promtool.sh (make test does)")
    return subprocess.run(
        [str(PROMTOOL), "check", "metrics"], input=exposition.decode(), capture_output=True, text=True, timeout=30
    )


def test_promtool_finds_nothing_to_report_on_a_healthy_exposition(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(1)], commits=[commit(1, "hotfix")]))
    fake.add_repo(repo("octo/other", runs=[run(2, "failure")]))
    checked = promtool_check(generate_latest(wire(EXPORTER_REPOS="octo/app,octo/other").registry))
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, "", "")


def test_promtool_finds_nothing_to_report_with_every_flow_metric_served(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(demo_repo(NOW))
    exposition = generate_latest(wire(EXPORTER_REPOS=DEMO_REPO, **FLOW_ON).registry)
    assert b'ci_runs{branch="main",conclusion="timed_out"' in exposition
    assert b'prs_time_to_merge_seconds{branch="main",percentile="90"' in exposition
    checked = promtool_check(exposition)
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, "", "")


def test_promtool_finds_nothing_to_report_with_failures_and_no_data(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[]))
    fake.inject(Fault(kind="status", status=500, path_regex="/commits"))
    checked = promtool_check(generate_latest(wire().registry))
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, "", "")


def test_promtool_finds_nothing_to_report_before_the_first_refresh(fake: FakeGitHub, wire: Wiring) -> None:
    fake.inject(Fault(kind="hang"))
    try:
        checked = promtool_check(generate_latest(wire(EXPORTER_SCRAPE_WAIT_SECONDS="0").registry))
    finally:
        fake.clear_faults()
        fake.release_hangs()
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, "", "")


def test_no_family_is_named_up_or_scrape(fake: FakeGitHub, wire: Wiring) -> None:
    names = {family.name for family in wire().collector.describe()}
    assert not {name for name in names if name == "up" or name.startswith("scrape_")}
