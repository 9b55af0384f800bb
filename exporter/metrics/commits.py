"""Hotfix and revert commits landed on the watched branch in the lookback window."""

from __future__ import annotations

from exporter.metrics.goals import Goal
from exporter.metrics.registry import system_health_metric
from exporter.metrics.repo_data import Commit, RepoData

# The words a commit message carries to be counted; the DORA change failure rate reuses them.
HOTFIX, REVERT = "hotfix", "revert"


def mentions(commit: Commit, word: str) -> bool:
    """True for a non-merge commit whose message contains `word` (any case)."""
    return commit.parent_count < 2 and word in commit.message.casefold()


def _count_mentioning(data: RepoData, word: str) -> float:
    return float(sum(1 for commit in data.recent_commits() if mentions(commit, word)))


@system_health_metric(
    metric_key="commits.hotfix",
    description=(
        "Non-merge commits on the branch in the lookback window whose message contains 'hotfix'. "
        "Goal: fewer than 5 in the window (7 days by default), written <= 4 so that on a count the first miss "
        "scores 0.83 rather than just under 1; the score reaches 0 at 10, twice the target. "
        'Example: commits_hotfix{repo="o/r",branch="main"} 2'
    ),
    goal=Goal(4.0, "<=", "commits", 6.0),
)
def hotfix_commits(data: RepoData) -> float:
    """Count of hotfix commits."""
    return _count_mentioning(data, HOTFIX)


@system_health_metric(
    metric_key="commits.reverts",
    description=(
        "Non-merge commits on the branch in the lookback window whose message contains 'revert'. "
        "Goal: none in the window (<= 0, the same as < 1 on a count; a first miss scores 0.75); "
        "the score reaches 0 at 4, near one a working day. "
        'Example: commits_reverts{repo="o/r",branch="main"} 1'
    ),
    goal=Goal(0.0, "<=", "commits", 4.0),
)
def revert_commits(data: RepoData) -> float:
    """Count of revert commits."""
    return _count_mentioning(data, REVERT)
