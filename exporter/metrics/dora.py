"""The four DORA keys over the lookback window, from the repository's deployments (EXPORTER_DEPLOY_SOURCE).

Rules (the README's metrics table says the same):

- A deployment is in the window when it was created in it (a release: published in it). Only
  `success` and `failure` deployments count; pending ones and `other` (cancelled, superseded) do not.
- What a successful deployment shipped: the commits reachable from its SHA and not from the previous
  successful deployment's (the first one read, with no earlier success, ships nothing we can tell).
- A successful deployment is *remediated* when the next successful deployment ships a non-merge
  commit whose message contains "hotfix" or "revert" (the words of `commits.hotfix` and
  `commits.reverts`). A deployment in the window *failed* when its state is failure or it was remediated.
- Time to restore runs from a failed deployment's end to the end of the next successful one; a failure
  not restored yet has no sample (it shows in the change failure rate, and in the next refresh's
  time to restore once a deployment succeeds).
- No deployment at all from the source: every key has no data, never 0.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping

from exporter.metrics.commits import HOTFIX, REVERT, mentions
from exporter.metrics.goals import Goal
from exporter.metrics.percentiles import PERCENTILES, percentiles
from exporter.metrics.registry import Split, system_health_metric
from exporter.metrics.repo_data import Deployment, RepoData

DAY = 86_400.0
QUANTILES = Split("percentile", PERCENTILES, scored="50")
MEDIAN = Split("percentile", ("50",), scored="50")


def _chronological(data: RepoData) -> list[Deployment]:
    return sorted(data.deployments(), key=lambda d: d.created_at)


def _successive_successes(deployments: list[Deployment]) -> Iterator[tuple[Deployment, Deployment]]:
    """(previous, next) for each pair of successful deployments in a row, oldest first."""
    successes = [d for d in deployments if d.state == "success"]
    return itertools.pairwise(successes)


def _failed(data: RepoData, deployments: list[Deployment]) -> list[Deployment]:
    """The window's deployments that failed or that the next successful deployment remediated."""
    remediated = {
        id(previous)
        for previous, following in _successive_successes(deployments)
        if previous.in_window
        and any(mentions(c, HOTFIX) or mentions(c, REVERT) for c in data.shipped_commits(following, previous))
    }
    return [d for d in deployments if d.in_window and (d.state == "failure" or id(d) in remediated)]


@system_health_metric(
    metric_key="dora.deployments",
    description=(
        "Deployment frequency: successful deployments created in the lookback window, from the repository's "
        "deployment source (EXPORTER_DEPLOY_SOURCE: GitHub deployments to an environment, runs of a deploy "
        "workflow, or releases). No deployment at all from that source: no series. Goal: at least 5 in the "
        "window (7 days by default), about one a working day, where the DORA report's elite/high bands begin "
        "(on demand, at least daily); the score reaches 0 at none. "
        'Example: dora_deployments{repo="o/r",branch="main"} 9'
    ),
    goal=Goal(5.0, ">=", "deployments", 5.0),
)
def deployments(data: RepoData) -> float | None:
    """Successful deployments in the window; None when the source has no deployment at all."""
    found = data.deployments()
    if not found:
        return None
    return float(sum(1 for d in found if d.in_window and d.state == "success"))


@system_health_metric(
    metric_key="dora.lead_time_seconds",
    description=(
        "Lead time for changes: for each commit a successful deployment in the window shipped (reachable from "
        "its SHA, not from the previous successful deployment's), the deployment's end minus the commit's "
        "committer date; the median and the 90th percentile. Goal: median under a day (the DORA report's "
        "elite/high band: less than one day); the score reaches 0 at a week, where its medium band begins. "
        'Example: dora_lead_time_seconds{repo="o/r",branch="main",percentile="50"} 5400'
    ),
    split=QUANTILES,
    goal=Goal(DAY, "<", "seconds", 6 * DAY),
)
def lead_time(data: RepoData) -> Mapping[str, float] | None:
    """Median and 90th percentile of commit-to-production times; None when nothing was shipped."""
    samples = [
        max(0.0, (following.finished_at - commit.committed_at).total_seconds())
        for previous, following in _successive_successes(_chronological(data))
        if following.in_window and following.finished_at is not None
        for commit in data.shipped_commits(following, previous)
    ]
    if not samples:
        return None
    return percentiles(samples, QUANTILES.values)


@system_health_metric(
    metric_key="dora.change_failure_rate",
    description=(
        "Change failure rate: the share of the window's finished deployments (success or failure) that failed, "
        "or that the next successful deployment remediated (it ships a non-merge commit whose message says "
        "'revert' or 'hotfix'). Releases have no failure state: for them only remediation counts. Goal: at "
        "most 15% (the DORA report's elite/high band: 0-15%); the score reaches 0 at 45%, where its low "
        'performers were. Example: dora_change_failure_rate{repo="o/r",branch="main"} 0.1'
    ),
    goal=Goal(0.15, "<=", "ratio", 0.30),
)
def change_failure_rate(data: RepoData) -> float | None:
    """Failed or remediated deployments / finished deployments in the window; None without any."""
    timeline = _chronological(data)
    finished = [d for d in timeline if d.in_window and d.state in ("success", "failure")]
    if not finished:
        return None
    return len(_failed(data, timeline)) / len(finished)


@system_health_metric(
    metric_key="dora.time_to_restore_seconds",
    description=(
        "Time to restore service: for each deployment in the window that failed (or was remediated, as the "
        "change failure rate counts it), the time from its end to the end of the next successful deployment; "
        "the median. A failure not yet restored has no sample; no failure: no series (not 0). Goal: under a "
        "day (the DORA report's elite/high band: less than one day); the score reaches 0 at a week. "
        'Example: dora_time_to_restore_seconds{repo="o/r",branch="main",percentile="50"} 3600'
    ),
    split=MEDIAN,
    goal=Goal(DAY, "<", "seconds", 6 * DAY),
)
def time_to_restore(data: RepoData) -> Mapping[str, float] | None:
    """Median time from a failed deployment to the next successful one; None without a restored failure."""
    timeline = _chronological(data)
    samples = []
    for failed in _failed(data, timeline):
        restored = next(
            (d for d in timeline if d.created_at > failed.created_at and d.state == "success" and d is not failed),
            None,
        )
        if restored is not None and restored.finished_at is not None and failed.finished_at is not None:
            samples.append(max(0.0, (restored.finished_at - failed.finished_at).total_seconds()))
    if not samples:
        return None
    return percentiles(samples, MEDIAN.values)
