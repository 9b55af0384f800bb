"""The command line, in process and as real processes on loopback."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from exporter.cli import main
from exporter.demo import FakeCommit, FakeGitHub, Fault
from exporter.metrics.registry import default_registry
from tests.conftest import repo, run
from tests.processes import exporter_env, free_port, serving


def recent(n: int, message: str) -> FakeCommit:
    """A commit made an hour before the real now (the CLI runs on the real clock)."""
    return FakeCommit(f"{n:040x}", message, datetime.now(UTC) - timedelta(hours=1))


def test_report_prints_every_value_and_exits_zero(
    fake: FakeGitHub, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.add_repo(repo(runs=[run(1)], commits=[recent(1, "hotfix")]))
    for key, val in exporter_env(EXPORTER_GITHUB_API_URL=fake.url, GITHUB_TOKEN="t", EXPORTER_REPOS="octo/app").items():
        monkeypatch.setenv(key, val)
    assert main(["report", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["repositories"]["octo/app"]["metrics"]["commits.hotfix"]["value"] == 1.0


def test_report_exits_non_zero_when_a_metric_failed(
    fake: FakeGitHub, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.add_repo(repo(runs=[run(1)]))
    fake.inject(Fault(kind="status", status=404, path_regex="/commits"))
    for key, val in exporter_env(EXPORTER_GITHUB_API_URL=fake.url, GITHUB_TOKEN="t", EXPORTER_REPOS="octo/app").items():
        monkeypatch.setenv(key, val)
    assert main(["report"]) == 1
    out = capsys.readouterr().out
    assert "FAILED (not_found)" in out and "ci.tests_passing_on_main     1" in out


def test_a_bad_setting_stops_the_start_naming_variable_and_value() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "exporter", "report"],
        env=exporter_env(EXPORTER_PORT="eighty"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "EXPORTER_PORT='eighty'" in done.stderr


@pytest.mark.parametrize(
    "variable,bad,why",
    [
        ("EXPORTER_REFRESH_TOKEN", "", "set but empty"),
        ("EXPORTER_GITHUB_API_URL", "http://github.example.com/api/v3", "clear text"),
        ("EXPORTER_GITHUB_API_URL", "http://exa mple.com", "contains a space"),
        ("EXPORTER_GITHUB_API_URL", "https://api.github.com:99999", "port"),
        ("EXPORTER_REPOS", "o/..", "GitHub reserves"),
        ("EXPORTER_REPOS", "o/r,O/R", "listed twice"),
    ],
)
def test_serve_refuses_to_start_on_configuration_that_would_half_work(variable: str, bad: str, why: str) -> None:
    env = exporter_env(GITHUB_TOKEN="t", EXPORTER_PORT=str(free_port()), **{variable: bad})
    done = subprocess.run(
        [sys.executable, "-m", "exporter", "serve"], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2
    shown = "<hidden>" if variable == "EXPORTER_REFRESH_TOKEN" and bad else repr(bad)
    assert f"{variable}={shown}" in done.stderr and why in done.stderr


@pytest.mark.parametrize("command", [[sys.executable, "-m", "exporter"], ["exporter"]])
def test_report_demo_runs_with_no_token_and_no_network(command: list[str]) -> None:
    if command[0] == "exporter":
        console = shutil.which("exporter", path=str(Path(sys.executable).parent))
        assert console is not None, "the console script is installed with the package"
        command = [console]
    done = subprocess.run(
        [*command, "report", "--demo", "--json"],
        env=exporter_env(EXPORTER_METRICS_DISABLED=""),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    metrics = json.loads(done.stdout)["repositories"]["Metta-AI/metta"]["metrics"]
    assert set(metrics) == {spec.key for spec in default_registry()}  # the demo shows every metric, with data
    assert all(entry["value"] is not None for entry in metrics.values())


def test_serve_as_a_real_process_serves_metrics_against_a_fake_github(fake: FakeGitHub) -> None:
    fake.add_repo(repo(runs=[run(1, "failure")], commits=[recent(1, "Revert x")]))
    env = exporter_env(EXPORTER_GITHUB_API_URL=fake.url, GITHUB_TOKEN="t", EXPORTER_REPOS="octo/app")
    with serving([], env) as url:
        body = httpx.get(f"{url}/metrics", timeout=10).text
    assert 'ci_tests_passing_on_main{branch="main",repo="octo/app",workflow="checks.yml"} 0.0' in body
    assert 'commits_reverts{branch="main",repo="octo/app"} 1.0' in body


def test_serve_demo_serves_all_three_gauges() -> None:
    with serving(["--demo"], exporter_env()) as url:
        body = httpx.get(f"{url}/metrics", timeout=10).text
    for name in ("ci_tests_passing_on_main{", "commits_hotfix{", "commits_reverts{"):
        assert f"\n{name}" in body


def test_no_token_and_no_readable_secret_stops_the_start_with_a_clear_message() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "exporter", "report"],
        env=exporter_env(
            AWS_ENDPOINT_URL="http://127.0.0.1:9",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_ACCESS_KEY_ID="x",
            AWS_SECRET_ACCESS_KEY="y",
            AWS_MAX_ATTEMPTS="1",
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "GITHUB_TOKEN is not set" in done.stderr and "EXPORTER_ALLOW_ANONYMOUS=true" in done.stderr


def test_report_demo_shows_every_shipped_metric_with_a_value_the_flow_metrics_included() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "exporter", "report", "--demo", "--json"],
        env=exporter_env(EXPORTER_METRICS_DISABLED=""),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    metrics = json.loads(done.stdout)["repositories"]["Metta-AI/metta"]["metrics"]
    assert set(metrics) == {spec.key for spec in default_registry()}
    assert {key for key, entry in metrics.items() if entry["value"] is None} == set()
    assert metrics["ci.flaky_runs"]["value"] == 2.0  # the demo's two re-runs after a failure
    assert set(metrics["ci.runs"]["value"]) == {"success", "failure", "cancelled", "timed_out", "other"}
