"""`exporter catalog` prints every exposed family; docs/metrics.md is its output."""

from __future__ import annotations

import pytest

from exporter.catalog import catalog
from exporter.cli import main
from exporter.datadog.catalog_table import document
from exporter.metrics.registry import default_registry
from exporter.settings import Settings
from tests.deploy.conftest import ROOT

DOC = ROOT / "docs" / "metrics.md"


def test_docs_metrics_md_is_what_the_catalog_command_prints_with_default_settings() -> None:
    wanted = document(default_registry().configured(Settings.from_env({})))
    assert DOC.read_text() == wanted, "docs/metrics.md is out of date: run python -m exporter catalog > docs/metrics.md"


def test_the_catalog_command_prints_a_row_for_every_family_with_its_datadog_name(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("DD_ENV", "EXPORTER_GOALS", "EXPORTER_METRICS_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    assert main(["catalog"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| `")]
    assert len(rows) == len(catalog())
    assert (
        "| `commits_hotfix` | `commits.hotfix` | gauge | commits | repo, branch | <= 4 commits, score 0 at 10 |" in out
    )
    assert "| `system_health_exporter_refresh_errors` | `system_health.exporter.refresh_errors.count` |" in out


def test_the_catalog_shows_a_goal_as_overridden(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXPORTER_GOALS", "commits.hotfix<3~5")
    assert main(["catalog"]) == 0
    assert "| < 3 commits, score 0 at 8 |" in capsys.readouterr().out
