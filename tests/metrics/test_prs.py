"""Pull-request flow against the branch (prs.open, prs.stale, prs.merged, prs.time_to_merge_seconds),
computed through PyGithub from the fake GitHub."""

from __future__ import annotations

from datetime import timedelta

import pytest

from exporter.demo import FakeGitHub
from exporter.demo.model import FakePull
from exporter.settings import Settings, SettingsError
from tests.conftest import FLOW_ON, NOW, REPO, Wiring, repo, run
from tests.helpers import value

OPEN, STALE, MERGED, TO_MERGE = "prs.open", "prs.stale", "prs.merged", "prs.time_to_merge_seconds"
DAY, HOUR = timedelta(days=1), timedelta(hours=1)


def pull(number: int, *, created: timedelta, updated: timedelta | None = None, **fields: object) -> FakePull:
    """A pull request against main created `created` before NOW (last updated `updated` before NOW)."""
    return FakePull(
        number,
        f"Change {number}",
        NOW - created,
        NOW - updated if updated is not None else None,
        **fields,  # type: ignore[arg-type]
    )


def merged(number: int, *, after: timedelta, merged_ago: timedelta, **fields: object) -> FakePull:
    """A pull request merged `merged_ago` before NOW, `after` its creation."""
    at = NOW - merged_ago
    return FakePull(number, f"Change {number}", at - after, merged_at=at, **fields)  # type: ignore[arg-type]


def with_pulls(fake: FakeGitHub, pulls: list[FakePull]) -> None:
    fake.add_repo(repo(runs=[run(1)]))
    fake.repo(REPO).pulls.extend(pulls)


def test_without_pull_requests_nothing_is_open_stale_or_merged_and_there_is_no_time_to_merge(
    fake: FakeGitHub, wire: Wiring
) -> None:
    with_pulls(fake, [])
    result = wire(**FLOW_ON).refresher()
    assert (value(result, OPEN), value(result, STALE), value(result, MERGED)) == (0.0, 0.0, 0.0)
    assert value(result, TO_MERGE) is None


def test_one_merged_pull_request_is_counted_and_its_time_to_merge_is_every_percentile(
    fake: FakeGitHub, wire: Wiring
) -> None:
    with_pulls(fake, [merged(1, after=5 * HOUR, merged_ago=DAY)])
    result = wire(**FLOW_ON).refresher()
    assert (value(result, OPEN), value(result, MERGED)) == (0.0, 1.0)
    assert value(result, TO_MERGE) == {"50": 5 * 3600.0, "90": 5 * 3600.0}


def test_open_pull_requests_against_the_branch_count_drafts_and_forks_included_other_bases_not(
    fake: FakeGitHub, wire: Wiring
) -> None:
    with_pulls(
        fake,
        [
            pull(1, created=DAY),
            pull(2, created=2 * DAY, draft=True),
            pull(3, created=3 * DAY, fork="someone/app", author="someone"),
            pull(4, created=4 * DAY, fork="gone/app", fork_deleted=True, author="gone"),  # head.repo: null
            pull(5, created=DAY, base_ref="release/1.0"),
            pull(6, created=5 * DAY, closed_at=NOW - DAY),  # closed, not merged
        ],
    )
    assert value(wire(**FLOW_ON).refresher(), OPEN) == 4.0


def test_stale_means_open_not_a_draft_and_idle_past_the_stale_age(fake: FakeGitHub, wire: Wiring) -> None:
    with_pulls(
        fake,
        [
            pull(1, created=30 * DAY, updated=14 * DAY + timedelta(seconds=1)),  # stale
            pull(2, created=30 * DAY, updated=14 * DAY),  # exactly the stale age: not yet
            pull(3, created=40 * DAY, updated=20 * DAY, draft=True),  # a draft asks nobody for anything
            pull(4, created=40 * DAY, updated=20 * DAY, fork="gone/app", fork_deleted=True),  # stale
            pull(5, created=40 * DAY, updated=20 * DAY, merged_at=NOW - 20 * DAY),  # merged long ago
        ],
    )
    result = wire(**FLOW_ON).refresher()
    assert (value(result, OPEN), value(result, STALE)) == (4.0, 2.0)
    assert value(wire(EXPORTER_PR_STALE_DAYS="3", **FLOW_ON).refresher(), STALE) == 3.0


def test_merged_in_the_window_counts_forks_and_leaves_out_closed_unmerged_and_older_merges(
    fake: FakeGitHub, wire: Wiring
) -> None:
    with_pulls(
        fake,
        [
            merged(1, after=2 * HOUR, merged_ago=HOUR),
            merged(2, after=4 * HOUR, merged_ago=7 * DAY, fork="someone/app"),  # at the window's start: in
            merged(3, after=6 * HOUR, merged_ago=3 * DAY, fork="gone/app", fork_deleted=True),
            merged(4, after=HOUR, merged_ago=7 * DAY + timedelta(seconds=1)),  # just before the window
            pull(5, created=2 * DAY, closed_at=NOW - DAY),  # closed without a merge
            merged(6, after=HOUR, merged_ago=2 * DAY, base_ref="release/1.0"),  # another base
        ],
    )
    result = wire(**FLOW_ON).refresher()
    assert value(result, MERGED) == 3.0
    assert value(result, TO_MERGE) == {"50": 4 * 3600.0, "90": 5.6 * 3600.0}


def test_a_merged_pull_request_updated_since_is_still_counted_by_its_merge_time(fake: FakeGitHub, wire: Wiring) -> None:
    late_comment = merged(1, after=HOUR, merged_ago=2 * DAY)
    late_comment.updated_at = NOW - HOUR
    old_merge_new_comment = merged(2, after=HOUR, merged_ago=9 * DAY)
    old_merge_new_comment.updated_at = NOW - 2 * HOUR
    with_pulls(fake, [late_comment, old_merge_new_comment])
    assert value(wire(**FLOW_ON).refresher(), MERGED) == 1.0


def test_closed_pull_requests_are_read_by_last_update_only_until_one_predates_the_window(
    fake: FakeGitHub, wire: Wiring
) -> None:
    recent = [merged(n, after=HOUR, merged_ago=n * 10 * timedelta(minutes=1)) for n in range(1, 151)]
    old = [merged(1000 + n, after=HOUR, merged_ago=10 * DAY + n * HOUR) for n in range(300)]
    with_pulls(fake, recent + old)
    result = wire(**FLOW_ON).refresher()
    assert value(result, MERGED) == 150.0
    closed = [r for r in fake.requests if r.path.endswith("/pulls") and r.query.get("state") == "closed"]
    assert len(closed) == 2  # pages 1 and 2 of 5: the second ends inside the older merges
    assert {k: closed[0].query[k] for k in ("base", "sort", "direction", "per_page")} == {
        "base": "main",
        "sort": "updated",
        "direction": "desc",
        "per_page": "100",
    }


def test_open_pull_requests_over_several_pages_are_all_counted(fake: FakeGitHub, wire: Wiring) -> None:
    with_pulls(fake, [pull(n, created=n * HOUR) for n in range(1, 251)])
    assert value(wire(**FLOW_ON).refresher(), OPEN) == 250.0
    assert len([r for r in fake.requests if r.path.endswith("/pulls") and r.query.get("state") == "open"]) == 3


def test_a_second_refresh_with_nothing_new_costs_no_point_for_pull_requests(fake: FakeGitHub, wire: Wiring) -> None:
    with_pulls(fake, [pull(1, created=DAY), merged(2, after=HOUR, merged_ago=DAY)])
    exporter = wire(**FLOW_ON)
    exporter.refresher()
    points = fake.points_used
    fake.clear_requests()
    assert value(exporter.refresher(), MERGED) == 1.0
    assert fake.count("/pulls", status=304) == 2
    assert fake.points_used == points


@pytest.mark.parametrize("days", ["0", "366", "two"])
def test_a_stale_age_out_of_bounds_stops_the_start_naming_the_variable(days: str) -> None:
    with pytest.raises(SettingsError, match=f"EXPORTER_PR_STALE_DAYS={days!r}"):
        Settings.from_env({"EXPORTER_PR_STALE_DAYS": days})
    assert Settings.from_env({}).pr_stale_days == 14
