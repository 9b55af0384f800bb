"""`exporter datadog push` against the fake Datadog API, with the real datadog-api-client pointed at it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from exporter.cli import main
from exporter.datadog.commands import assets
from exporter.datadog.monitors import goal_monitor
from exporter.metrics.registry import default_registry
from exporter.settings import Settings
from tests.datadog.conftest import put_secret
from tests.datadog.fake_datadog import FakeDatadog
from tests.processes import clean_env

API_KEY, APP_KEY = "test-api-key", "test-app-key"
OUR_VARIABLES = ("DD_ENV", "DD_SITE", "DD_API_KEY", "DD_APP_KEY", "EXPORTER_GOALS", "EXPORTER_METRICS_DISABLED")


class Push:
    """Runs `exporter datadog push ARGS` in process against the fake: (exit code, stdout, stderr)."""

    def __init__(self, fake: FakeDatadog, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
        self.fake, self.monkeypatch, self.capsys = fake, monkeypatch, capsys

    def __call__(self, *args: str, keys: bool = True, **env: str) -> tuple[int, str, str]:
        for name in OUR_VARIABLES:
            self.monkeypatch.delenv(name, raising=False)
        values = {"EXPORTER_DATADOG_API_URL": self.fake.url, **env}
        if keys:
            values.update(DD_API_KEY=API_KEY, DD_APP_KEY=APP_KEY)
        for name, value in values.items():
            self.monkeypatch.setenv(name, value)
        code = main(["datadog", "push", *args])
        out, err = self.capsys.readouterr()
        return code, out, err


@pytest.fixture
def run(datadog: FakeDatadog, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Push:
    return Push(datadog, monkeypatch, capsys)


def expected_count() -> int:
    settings = Settings.from_env({})
    return len(assets(default_registry().configured(settings), settings))


def goals() -> int:
    return sum(1 for spec in default_registry() if spec.goal is not None)


def test_the_first_push_creates_every_asset_and_the_second_changes_nothing(run: Push, datadog: FakeDatadog) -> None:
    code, out, _ = run()
    assert code == 0, out
    creates = [write for write in datadog.writes if write[0] == "POST"]
    assert len(creates) == len(datadog.writes) == expected_count()
    assert (len(datadog.monitors), len(datadog.slos), len(datadog.dashboards)) == (goals() + 4, goals(), 1)

    code, out, _ = run()
    assert code == 0
    assert len(datadog.writes) == expected_count()  # no request changed anything
    assert out.splitlines()[-1] == f"create 0, update 0, leave {expected_count()} unchanged"


def test_a_changed_goal_updates_exactly_one_monitor(run: Push, datadog: FakeDatadog) -> None:
    run()
    before = len(datadog.writes)
    code, out, _ = run(EXPORTER_GOALS="commits.hotfix<=3~6")
    assert code == 0, out
    monitor_writes = [write for write in datadog.writes[before:] if "/monitor" in write[1]]
    hotfix_id = next(
        i for i, m in datadog.monitors.items() if "system-health-asset:monitor.goal.commits.hotfix" in m["tags"]
    )
    assert monitor_writes == [("PUT", f"/api/v1/monitor/{hotfix_id}")]
    assert datadog.monitors[hotfix_id]["options"]["thresholds"] == {"critical": 9.0, "warning": 3.0}
    assert all(
        method == "PUT" for method, _ in datadog.writes[before:]
    )  # its SLO and the dashboard: updated, not added


def test_a_dry_run_prints_the_plan_and_changes_nothing(run: Push, datadog: FakeDatadog) -> None:
    code, out, _ = run("--dry-run")
    assert code == 0
    assert datadog.writes == []
    assert "create    monitor   monitor.goal.commits.hotfix" in out
    assert out.splitlines()[-1].startswith(f"dry run, nothing changed: would create {expected_count()}, update 0")

    run()
    code, out, _ = run("--dry-run", EXPORTER_GOALS="commits.reverts<=1")
    assert "update    monitor   monitor.goal.commits.reverts" in out
    assert "options.thresholds.warning" in out
    assert len(datadog.writes) == expected_count()


def test_assets_are_found_by_their_tag_not_their_title(run: Push, datadog: FakeDatadog) -> None:
    spec = default_registry()["commits.hotfix"]
    assert spec.goal is not None
    hotfix = goal_monitor(spec, spec.goal, Settings.from_env({}))
    lookalike = datadog.add_monitor({**hotfix, "tags": ["team:ops"]})  # same title, not ours
    run()
    ours = next(
        i for i, m in datadog.monitors.items() if "system-health-asset:monitor.goal.commits.hotfix" in m["tags"]
    )
    assert ours != lookalike
    datadog.monitors[ours]["name"] = "renamed by hand"
    before = len(datadog.writes)

    code, _, _ = run()
    assert code == 0
    assert datadog.writes[before:] == [("PUT", f"/api/v1/monitor/{ours}")]
    assert datadog.monitors[ours]["name"] == hotfix["name"]
    assert datadog.monitors[lookalike]["tags"] == ["team:ops"]


def test_each_env_keeps_its_own_assets(run: Push, datadog: FakeDatadog) -> None:
    run(DD_ENV="staging")
    run(DD_ENV="production")
    assert (len(datadog.monitors), len(datadog.dashboards)) == (2 * (goals() + 4), 2)
    before = len(datadog.writes)
    run(DD_ENV="staging")
    assert len(datadog.writes) == before


@pytest.mark.parametrize(
    ("status", "expected"),
    [(403, "Datadog answered 403 Forbidden to GET"), (503, "Datadog answered 503 Service Unavailable to GET")],
)
def test_a_refusal_or_a_datadog_failure_is_a_clear_error_and_a_non_zero_exit(
    run: Push, datadog: FakeDatadog, status: int, expected: str
) -> None:
    datadog.fail(status, "GET", "/api/v1/monitor")
    code, _, err = run()
    assert code == 1
    assert expected in err and f"{datadog.url}/api/v1/monitor" in err
    assert datadog.writes == []


def test_a_failure_on_a_write_stops_the_push_with_the_endpoint_named(run: Push, datadog: FakeDatadog) -> None:
    datadog.fail(500, "POST", "/api/v1/slo")
    code, _, err = run()
    assert code == 1
    assert f"POST {datadog.url}/api/v1/slo" in err and "run it again" in err


def test_keys_are_read_from_secrets_manager_when_unset(run: Push, datadog: FakeDatadog, secrets: str) -> None:
    put_secret("datadog/api-key", API_KEY)
    put_secret("datadog/app-key", APP_KEY)
    code, out, _ = run(keys=False)
    assert code == 0, out
    assert len(datadog.monitors) == goals() + 4


def test_the_real_cli_exits_non_zero_on_refused_keys_and_never_prints_them(datadog: FakeDatadog) -> None:
    api_key, app_key = "wrong-api-key-0123456789abcdef", "wrong-app-key-0123456789abcdef0123456789"
    env = clean_env(EXPORTER_DATADOG_API_URL=datadog.url, DD_API_KEY=api_key, DD_APP_KEY=app_key)
    done = subprocess.run(
        [sys.executable, "-m", "exporter", "datadog", "push"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1
    assert "Datadog answered 403" in done.stderr and "check DD_API_KEY, DD_APP_KEY and DD_SITE" in done.stderr
    for key in (api_key, app_key):
        assert key not in done.stdout + done.stderr


def test_the_real_cli_pushes_then_finds_nothing_to_change(datadog: FakeDatadog) -> None:
    env = clean_env(EXPORTER_DATADOG_API_URL=datadog.url, DD_API_KEY=API_KEY, DD_APP_KEY=APP_KEY)
    command = [sys.executable, "-m", "exporter", "datadog", "push"]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    assert second.stdout.splitlines()[-1] == f"create 0, update 0, leave {expected_count()} unchanged"
    assert API_KEY not in first.stdout + first.stderr + second.stdout + second.stderr
