"""The old cron job's algorithm, run with PyGithub against the fake to count what it cost.

It read each repository with a default PyGithub client (not lazy: `get_repo` and `get_workflow`
are a GET each; 30 items a page), listed the branch's commits once per phrase it counted (hotfix,
revert) and read the latest run of the CI workflow and that run's jobs. Nothing was conditional,
so every refresh cost the same. `seconds_between_requests` is off here only to keep the bench
quick; it changes no count.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from github import Auth, Github

PHRASES = ("hotfix", "revert")


def old_job_refresh(
    base_url: str, token: str, repo: str, branch: str, workflow: str, now: datetime, per_page: int = 30
) -> dict[str, object]:
    """One run of the old job for one repository; returns what it computed."""
    client = Github(
        auth=Auth.Token(token), base_url=base_url, per_page=per_page, seconds_between_requests=None, retry=0
    )
    try:
        repository = client.get_repo(repo)
        since = now - timedelta(days=7)
        counts = {}
        for phrase in PHRASES:
            commits = repository.get_commits(sha=branch, since=since)
            counts[phrase] = sum(1 for commit in commits if phrase in (commit.commit.message or "").lower())
        runs = repository.get_workflow(workflow).get_runs(branch=branch)
        latest = next(iter(runs), None)
        passing = None
        if latest is not None:
            passing = all(job.conclusion == "success" for job in latest.jobs())
        return {"counts": counts, "passing": passing}
    finally:
        client.close()
