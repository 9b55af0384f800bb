"""commits.hotfix and commits.reverts, computed through PyGithub from the fake GitHub."""

from __future__ import annotations

from exporter.demo import FakeGitHub
from tests.conftest import Wiring, commit, repo
from tests.helpers import value


def test_hotfix_and_revert_messages_are_counted_case_insensitively(fake: FakeGitHub, wire: Wiring) -> None:
    commits = [
        commit(1, "HOTFIX: login loop"),
        commit(2, "Hotfix the hotfix"),
        commit(3, 'Revert "Add cache (#1757)" (#1763)\n\nThis reverts commit abc.'),
        commit(4, "revert flaky test"),
        commit(5, "feat: unrelated"),
    ]
    fake.add_repo(repo(commits=commits))
    result = wire().refresher()
    assert (value(result, "commits.hotfix"), value(result, "commits.reverts")) == (2.0, 2.0)


def test_merge_commits_are_not_counted(fake: FakeGitHub, wire: Wiring) -> None:
    commits = [
        commit(1, "Merge pull request #12 from org/hotfix-login", parents=2),
        commit(2, "Merge branch 'revert-thing'", parents=3),
        commit(3, "hotfix: real one"),
    ]
    fake.add_repo(repo(commits=commits))
    result = wire().refresher()
    assert (value(result, "commits.hotfix"), value(result, "commits.reverts")) == (1.0, 0.0)


def test_commits_just_outside_the_window_are_not_counted(fake: FakeGitHub, wire: Wiring) -> None:
    commits = [commit(1, "hotfix: inside", days_ago=6.99), commit(2, "hotfix: outside", days_ago=7.01)]
    fake.add_repo(repo(commits=commits))
    assert value(wire().refresher(), "commits.hotfix") == 1.0
    assert value(wire(EXPORTER_LOOKBACK_DAYS="8").refresher(), "commits.hotfix") == 2.0


def test_every_page_is_followed_and_fetched_once_for_both_metrics(fake: FakeGitHub, wire: Wiring) -> None:
    commits = [commit(n, "hotfix" if n % 10 == 0 else ("revert" if n % 25 == 0 else "chore")) for n in range(1, 251)]
    fake.add_repo(repo(commits=commits))
    result = wire().refresher()
    assert (value(result, "commits.hotfix"), value(result, "commits.reverts")) == (25.0, 5.0)
    pages = [r for r in fake.requests if r.path.endswith("/commits")]
    assert [r.query.get("page", "1") for r in pages] == ["1", "2", "3"]
    assert all(r.query["sha"] == "main" and r.query["since"] for r in pages)


def test_an_empty_window_counts_zero_not_no_data(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(commits=[commit(1, "hotfix: old", days_ago=30)]))
    result = wire().refresher()
    assert (value(result, "commits.hotfix"), value(result, "commits.reverts")) == (0.0, 0.0)
