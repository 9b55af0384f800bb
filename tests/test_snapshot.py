"""The frozen state a scrape reads: one refresh folded into a new snapshot, the old one untouched."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from exporter.refresh import RefreshResult, SeriesResult
from exporter.snapshot import SeriesError, Snapshot

LABELS = {"repo": "octo/app", "branch": "main"}


def refresh(*series: SeriesResult, repos: tuple[str, ...] | None = None) -> RefreshResult:
    """A refresh that covered `repos` (default: the repositories of its series)."""
    covered = repos if repos is not None else tuple(dict.fromkeys(outcome.repo for outcome in series))
    return RefreshResult(started_at=datetime(2026, 11, 20, tzinfo=UTC), seconds=1.0, series=series, repos=covered)


def test_applying_a_refresh_builds_a_new_snapshot_and_leaves_the_old_one_as_it_was() -> None:
    first = Snapshot().apply(refresh(SeriesResult("commits.hotfix", "octo/app", LABELS, 2.0)), now=100.0)
    second = first.apply(refresh(SeriesResult("commits.hotfix", "octo/app", LABELS, 5.0)), now=200.0)
    assert (first.refreshes, first.series[("commits.hotfix", "octo/app")].value) == (1, 2.0)
    assert (second.refreshes, second.series[("commits.hotfix", "octo/app")].value) == (2, 5.0)
    with pytest.raises(TypeError):
        first.series[("commits.hotfix", "octo/app")] = second.series[("commits.hotfix", "octo/app")]  # type: ignore[index]


def test_a_failure_keeps_the_last_good_value_and_records_its_reason_and_message_until_replaced() -> None:
    ok = SeriesResult("commits.hotfix", "octo/app", LABELS, 2.0)
    failed = SeriesResult("commits.hotfix", "octo/app", LABELS, None, "server_error", "GitHub answered 502")
    snapshot = Snapshot().apply(refresh(ok), now=100.0).apply(refresh(failed), now=200.0)
    state = snapshot.series[("commits.hotfix", "octo/app")]
    assert (state.value, state.value_at, state.ok, state.last_success) == (2.0, 100.0, False, 100.0)
    assert state.last_error == SeriesError("server_error", "GitHub answered 502", 200.0)
    assert snapshot.errors == {("octo/app", "commits.hotfix", "server_error"): 1}
    recovered = snapshot.apply(refresh(ok), now=300.0).series[("commits.hotfix", "octo/app")]
    assert (recovered.ok, recovered.value_at, recovered.last_error) == (True, 300.0, state.last_error)


def test_a_repository_the_refresh_did_not_cover_loses_its_series_and_its_error_counters() -> None:
    kept = {"repo": "octo/kept", "branch": "main"}
    first = Snapshot().apply(
        refresh(
            SeriesResult("commits.hotfix", "octo/app", LABELS, 2.0),
            SeriesResult("commits.reverts", "octo/app", LABELS, None, "server_error", "GitHub answered 502"),
            SeriesResult("commits.hotfix", "octo/kept", kept, 1.0),
        ),
        now=100.0,
    )
    second = first.apply(refresh(SeriesResult("commits.hotfix", "octo/kept", kept, 3.0)), now=200.0)
    assert set(second.series) == {("commits.hotfix", "octo/kept")}
    assert second.errors == {}
    assert ("octo/app", "commits.reverts", "server_error") in first.errors
