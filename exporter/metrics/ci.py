"""CI health on the watched branch: is it green now (tests_passing_on_main), and how it went over the window."""

from __future__ import annotations

from collections.abc import Mapping

from exporter.metrics.goals import Goal
from exporter.metrics.percentiles import PERCENTILES, percentiles
from exporter.metrics.registry import Split, system_health_metric
from exporter.metrics.repo_data import RepoData


@system_health_metric(
    metric_key="ci.tests_passing_on_main",
    description=(
        "1 if the newest completed CI run of the branch itself (push, schedule or workflow_dispatch; "
        "pull request and merge queue runs are not the branch's) concluded success and every required "
        "job succeeded, else 0. Goal: >= 1 (green), scored 1 or 0. "
        'Example: ci_tests_passing_on_main{repo="o/r",branch="main",workflow="checks.yml"} 1'
    ),
    extra_labels=("workflow",),
    unit="flag",
    # A pass/fail flag: the goal is green; tolerance 0 makes the score the flag itself.
    goal=Goal(1.0, ">=", "flag", 0.0),
)
def tests_passing_on_main(data: RepoData) -> float | None:
    """1.0 passing, 0.0 failing, None when the workflow has no relevant run.

    GitHub's run conclusion decides: it already fails for a failed job, except one the workflow lets
    fail (`continue-on-error`), whose failure its authors chose not to count. Jobs named in
    EXPORTER_CI_REQUIRED_JOBS must be in the latest attempt and have succeeded, allowed to fail or not.
    """
    run = data.latest_ci_run()
    if run is None:
        return None
    if run.conclusion != "success":
        return 0.0
    required = data.settings.required_jobs
    if required:
        passed = {job.name.casefold() for job in run.jobs if job.conclusion == "success"}
        if not required <= passed:
            return 0.0
    return 1.0


# --- CI flow: the window's runs of the CI workflow on the branch itself (issue 10) ---
# Conclusions passed over as tests_passing_on_main passes over them: they neither pass nor fail the branch.
PASSED_OVER = frozenset({"cancelled", "skipped", "stale"})
CONCLUSIONS = ("success", "failure", "cancelled", "timed_out", "other")
FAILED_ATTEMPT = frozenset({"failure", "timed_out"})


@system_health_metric(
    metric_key="ci.main_red_seconds",
    description=(
        "How long the branch has been red: seconds from the creation of the first failing run after the last "
        "passing one (runs of the branch itself in the lookback window; cancelled, skipped and stale runs passed "
        "over) to the refresh; 0 while the newest such run passed; no series without one. When no run in the "
        "window passed, the streak began before the window and the value is a lower bound, the age of the "
        "window's oldest failing run. Goal: red for at most an hour (<= 3600), long enough to revert or fix "
        "forward; the score reaches 0 at a day, when every merge of the day has landed on a broken branch. "
        'Example: ci_main_red_seconds{repo="o/r",branch="main",workflow="checks.yml"} 1260'
    ),
    extra_labels=("workflow",),
    goal=Goal(3600.0, "<=", "seconds", 23 * 3600.0),
)
def main_red_seconds(data: RepoData) -> float | None:
    """0.0 green, the red streak's age in seconds, or None without a judged run in the window."""
    window = data.ci_runs()
    judged = sorted(
        (run for run in window.runs if run.conclusion not in PASSED_OVER),
        key=lambda run: (run.created_at, run.id),
        reverse=True,
    )
    if not judged:
        return None
    first_red = None
    for run in judged:
        if run.conclusion == "success":
            break
        first_red = run
    if first_red is None:
        return 0.0
    return max(0.0, (window.end - first_red.created_at).total_seconds())


@system_health_metric(
    metric_key="ci.runs",
    description=(
        "Completed runs of the CI workflow on the branch itself (push, schedule, workflow_dispatch) created in the "
        "lookback window, by conclusion: success, failure, cancelled, timed_out, other (skipped, stale, neutral, "
        "action_required, startup_failure); every conclusion has a series, 0 included. No goal: the volume says how "
        "busy the branch is, and its health is in ci.main_red_seconds and ci.flaky_runs. "
        'Example: ci_runs{repo="o/r",branch="main",workflow="checks.yml",conclusion="failure"} 3'
    ),
    extra_labels=("workflow",),
    unit="runs",
    split=Split("conclusion", CONCLUSIONS),
)
def runs_by_conclusion(data: RepoData) -> Mapping[str, float]:
    """Counts per conclusion bucket, every bucket present."""
    counts = dict.fromkeys(CONCLUSIONS, 0.0)
    for run in data.ci_runs().runs:
        counts[run.conclusion if run.conclusion in counts else "other"] += 1
    return counts


@system_health_metric(
    metric_key="ci.flaky_runs",
    description=(
        "Runs of the branch itself in the lookback window that passed only on a later attempt: the latest attempt "
        "succeeded and an earlier one failed or timed out (re-runs after a cancellation do not count). Goal: at most "
        "2 a window (7 days by default), a re-run now and then; the score reaches 0 at 10, more than one a working "
        "day, when re-running has become the way to get green. "
        'Example: ci_flaky_runs{repo="o/r",branch="main",workflow="checks.yml"} 1'
    ),
    extra_labels=("workflow",),
    goal=Goal(2.0, "<=", "runs", 8.0),
)
def flaky_runs(data: RepoData) -> float:
    """Count of runs that succeeded on a re-run after a failed attempt."""
    window = data.ci_runs()
    failed_before = {attempt.run_id for attempt in data.ci_rerun_attempts() if attempt.conclusion in FAILED_ATTEMPT}
    return float(
        sum(1 for run in window.runs if run.conclusion == "success" and run.run_attempt > 1 and run.id in failed_before)
    )


@system_health_metric(
    metric_key="ci.run_duration_seconds",
    description=(
        "Duration of the successful runs of the branch itself in the lookback window, median and 90th percentile: "
        "updated_at - run_started_at of each run's latest attempt (the attempt that passed, without the queue "
        "before it or the failed attempts before a re-run); no series without a successful run. Goal: median "
        "under 15 minutes (<= 900), short enough to wait for rather than switch tasks; the score reaches 0 at "
        "30 minutes. "
        'Example: ci_run_duration_seconds{repo="o/r",branch="main",workflow="checks.yml",percentile="50"} 684'
    ),
    extra_labels=("workflow",),
    split=Split("percentile", PERCENTILES, scored="50"),
    goal=Goal(900.0, "<=", "seconds", 900.0),
)
def run_duration_seconds(data: RepoData) -> Mapping[str, float]:
    """Median and 90th percentile of successful runs' durations; empty without one."""
    return percentiles(
        max(0.0, (run.updated_at - run.started_at).total_seconds())
        for run in data.ci_runs().runs
        if run.conclusion == "success"
    )
