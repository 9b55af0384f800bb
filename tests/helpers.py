"""Small readers over a RefreshResult."""

from __future__ import annotations

from exporter.refresh import RefreshResult, SeriesResult
from tests.conftest import REPO


def series(result: RefreshResult, key: str, repo: str = REPO) -> SeriesResult:
    """The one series of `key` for `repo`."""
    (found,) = [s for s in result.series if s.key == key and s.repo == repo]
    return found


def value(result: RefreshResult, key: str, repo: str = REPO) -> float | None:
    """The value of `key` for `repo`, asserting it did not fail."""
    found = series(result, key, repo)
    assert found.ok, f"{key} for {repo} failed: {found.reason} {found.error}"
    return found.value
