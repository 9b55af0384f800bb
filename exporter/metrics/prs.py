"""Pull-request flow against the watched branch: what is open, what went stale, what merged and how fast.

A fork's pull request is a pull request against the branch like any other, counted the same (its fork
may be gone since: GitHub then sends `head.repo: null`, which nothing here reads).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from exporter.metrics.goals import Goal
from exporter.metrics.percentiles import PERCENTILES, percentiles
from exporter.metrics.registry import Split, system_health_metric
from exporter.metrics.repo_data import RepoData


@system_health_metric(
    metric_key="prs.open",
    description=(
        "Open pull requests against the branch, drafts and forks' included. No goal: how many are open "
        "follows the team's size; prs.stale carries the health signal. "
        'Example: prs_open{repo="o/r",branch="main"} 11'
    ),
    unit="pull_requests",
)
def open_pulls(data: RepoData) -> float:
    """Count of open pull requests."""
    return float(len(data.open_pull_requests().pulls))


@system_health_metric(
    metric_key="prs.stale",
    description=(
        "Open pull requests against the branch not updated for EXPORTER_PR_STALE_DAYS days (14 by default); "
        "drafts are not counted, since a draft asks nobody for a review. Goal: at most 3, a few long-lived "
        "experiments; the score reaches 0 at 10, a pile nobody decides on. "
        'Example: prs_stale{repo="o/r",branch="main"} 2'
    ),
    goal=Goal(3.0, "<=", "pull_requests", 7.0),
)
def stale_pulls(data: RepoData) -> float:
    """Count of open, non-draft pull requests idle past the stale age."""
    found = data.open_pull_requests()
    idle_since = found.as_of - timedelta(days=data.settings.pr_stale_days)
    return float(sum(1 for pull in found.pulls if not pull.draft and pull.updated_at < idle_since))


@system_health_metric(
    metric_key="prs.merged",
    description=(
        "Pull requests against the branch merged in the lookback window. No goal: throughput follows the "
        "team's size and the kind of work; prs.time_to_merge_seconds says how fast it flows. "
        'Example: prs_merged{repo="o/r",branch="main"} 24'
    ),
    unit="pull_requests",
)
def merged_pulls(data: RepoData) -> float:
    """Count of pull requests merged in the window."""
    return float(len(data.merged_pull_requests().pulls))


@system_health_metric(
    metric_key="prs.time_to_merge_seconds",
    description=(
        "Time from creation to merge of the pull requests against the branch merged in the lookback window, "
        "median and 90th percentile; no series when none merged. Goal: median within a day (<= 86400): a change "
        "reviewed the working day it is opened keeps authors in context; the score reaches 0 at 3 days. "
        'Example: prs_time_to_merge_seconds{repo="o/r",branch="main",percentile="50"} 30600'
    ),
    split=Split("percentile", PERCENTILES, scored="50"),
    goal=Goal(86400.0, "<=", "seconds", 2 * 86400.0),
)
def time_to_merge_seconds(data: RepoData) -> Mapping[str, float]:
    """Median and 90th percentile of created -> merged; empty when nothing merged."""
    return percentiles(
        max(0.0, (pull.merged_at - pull.created_at).total_seconds())
        for pull in data.merged_pull_requests().pulls
        if pull.merged_at is not None
    )
