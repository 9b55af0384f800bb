"""CI health on the watched branch."""

from __future__ import annotations

from exporter.metrics.goals import Goal
from exporter.metrics.registry import system_health_metric
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
