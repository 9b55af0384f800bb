"""JSON builders shaped like GitHub's REST answers (schema: tests/schemas/github-rest-subset.json).

Every API URL points at the fake's own base URL (PyGithub refuses to follow another host);
`html_url`s point at https://github.com as GitHub's do.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

from exporter.demo.model import FakeCommit, FakeJob, FakeRepo, FakeRun, stable_int, stable_sha

Json = dict[str, Any]
HTML = "https://github.com"

# GitHub's repository URL fields: name -> suffix after the repo URL ("" = the repo URL itself).
_REPO_URLS = {
    "forks_url": "/forks",
    "keys_url": "/keys{/key_id}",
    "collaborators_url": "/collaborators{/collaborator}",
    "teams_url": "/teams",
    "hooks_url": "/hooks",
    "issue_events_url": "/issues/events{/number}",
    "events_url": "/events",
    "assignees_url": "/assignees{/user}",
    "branches_url": "/branches{/branch}",
    "tags_url": "/tags",
    "blobs_url": "/git/blobs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "trees_url": "/git/trees{/sha}",
    "statuses_url": "/statuses/{sha}",
    "languages_url": "/languages",
    "stargazers_url": "/stargazers",
    "contributors_url": "/contributors",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "commits_url": "/commits{/sha}",
    "git_commits_url": "/git/commits{/sha}",
    "comments_url": "/comments{/number}",
    "issue_comment_url": "/issues/comments{/number}",
    "contents_url": "/contents/{+path}",
    "compare_url": "/compare/{base}...{head}",
    "merges_url": "/merges",
    "archive_url": "/{archive_format}{/ref}",
    "downloads_url": "/downloads",
    "issues_url": "/issues{/number}",
    "pulls_url": "/pulls{/number}",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "labels_url": "/labels{/name}",
    "releases_url": "/releases{/id}",
    "deployments_url": "/deployments",
}
_USER_URLS = {
    "followers_url": "/followers",
    "following_url": "/following{/other_user}",
    "gists_url": "/gists{/gist_id}",
    "starred_url": "/starred{/owner}{/repo}",
    "subscriptions_url": "/subscriptions",
    "organizations_url": "/orgs",
    "repos_url": "/repos",
    "events_url": "/events{/privacy}",
    "received_events_url": "/received_events",
}


def iso(moment: datetime) -> str:
    """GitHub's timestamp format: UTC, seconds, `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def node_id(prefix: str, number: int | str) -> str:
    return f"{prefix}_" + base64.b64encode(str(number).encode()).decode().rstrip("=")


def user(base: str, login: str, kind: str = "User") -> Json:
    """A `simple-user` object."""
    user_id = stable_int("user", login.lower(), digits=8)
    url = f"{base}/users/{login}"
    return {
        "login": login,
        "id": user_id,
        "node_id": node_id("U", user_id),
        "avatar_url": f"https://avatars.githubusercontent.com/u/{user_id}?v=4",
        "gravatar_id": "",
        "url": url,
        "html_url": f"{HTML}/{login}",
        **{key: url + suffix for key, suffix in _USER_URLS.items()},
        "type": kind,
        "user_view_type": "public",
        "site_admin": False,
    }


def minimal_repository(base: str, repo: FakeRepo, fork: bool = False) -> Json:
    """A `minimal-repository` object, as embedded in workflow runs."""
    url = f"{base}/repos/{repo.full_name}"
    return {
        "id": repo.id,
        "node_id": node_id("R", repo.id),
        "name": repo.name,
        "full_name": repo.full_name,
        "private": False,
        "owner": user(base, repo.owner, "Organization"),
        "html_url": f"{HTML}/{repo.full_name}",
        "description": None,
        "fork": fork,
        "url": url,
        **{key: url + suffix for key, suffix in _REPO_URLS.items()},
    }


def full_repository(base: str, repo: FakeRepo, created: datetime) -> Json:
    """A `full-repository` object (`GET /repos/{o}/{r}`)."""
    counts = {
        key: 0
        for key in (
            "forks",
            "forks_count",
            "open_issues",
            "open_issues_count",
            "stargazers_count",
            "watchers",
            "watchers_count",
            "network_count",
            "subscribers_count",
            "size",
        )
    }
    flags = {key: True for key in ("has_issues", "has_projects", "has_wiki", "has_downloads")}
    return {
        **minimal_repository(base, repo),
        **counts,
        **flags,
        "git_url": f"git://github.com/{repo.full_name}.git",
        "ssh_url": f"git@github.com:{repo.full_name}.git",
        "clone_url": f"{HTML}/{repo.full_name}.git",
        "svn_url": f"{HTML}/{repo.full_name}",
        "mirror_url": None,
        "homepage": None,
        "language": "Python",
        "has_pages": False,
        "has_discussions": False,
        "archived": False,
        "disabled": False,
        "visibility": "public",
        "license": None,
        "default_branch": repo.default_branch,
        "topics": [],
        "is_template": False,
        "created_at": iso(created),
        "updated_at": iso(created),
        "pushed_at": iso(created),
        "permissions": {"admin": False, "maintain": False, "push": False, "triage": False, "pull": True},
    }


def workflow(base: str, repo: FakeRepo, workflow_file: str, created: datetime) -> Json:
    """A `workflow` object (`GET .../actions/workflows/{file}`)."""
    workflow_id = repo.workflow_id(workflow_file)
    path = f".github/workflows/{workflow_file}"
    return {
        "id": workflow_id,
        "node_id": node_id("W", workflow_id),
        "name": workflow_file.rsplit(".", 1)[0].title(),
        "path": path,
        "state": "active",
        "created_at": iso(created),
        "updated_at": iso(created),
        "url": f"{base}/repos/{repo.full_name}/actions/workflows/{workflow_id}",
        "html_url": f"{HTML}/{repo.full_name}/blob/{repo.default_branch}/{path}",
        "badge_url": f"{HTML}/{repo.full_name}/workflows/{workflow_file}/badge.svg",
    }


def workflow_run(base: str, repo: FakeRepo, run: FakeRun, run_number: int) -> Json:
    """A `workflow-run` object, with the latest attempt's fields."""
    api = f"{base}/repos/{repo.full_name}"
    run_url = f"{api}/actions/runs/{run.id}"
    workflow_id = repo.workflow_id(run.workflow_file)
    started = run.created_at + timedelta(minutes=7 * (run.run_attempt - 1))
    actor = user(base, "octocat")
    title = f"Run {run.workflow_file} on {run.head_branch}"
    return {
        "id": run.id,
        "name": run.workflow_file.rsplit(".", 1)[0].title(),
        "node_id": node_id("WFR", run.id),
        "head_branch": run.head_branch,
        "head_sha": run.sha,
        "path": f".github/workflows/{run.workflow_file}",
        "display_title": title,
        "run_number": run_number,
        "event": run.event,
        "status": run.status,
        "conclusion": run.conclusion,
        "workflow_id": workflow_id,
        "check_suite_id": stable_int("suite", run.id, digits=11),
        "check_suite_node_id": node_id("CS", run.id),
        "url": run_url,
        "html_url": f"{HTML}/{repo.full_name}/actions/runs/{run.id}",
        "pull_requests": [],
        "created_at": iso(run.created_at),
        "updated_at": iso(run.updated_at),
        "actor": actor,
        "run_attempt": run.run_attempt,
        "referenced_workflows": [],
        "run_started_at": iso(started),
        "triggering_actor": actor,
        "jobs_url": f"{run_url}/jobs",
        "logs_url": f"{run_url}/logs",
        "check_suite_url": f"{api}/check-suites/{stable_int('suite', run.id, digits=11)}",
        "artifacts_url": f"{run_url}/artifacts",
        "cancel_url": f"{run_url}/cancel",
        "rerun_url": f"{run_url}/rerun",
        "previous_attempt_url": f"{run_url}/attempts/{run.run_attempt - 1}" if run.run_attempt > 1 else None,
        "workflow_url": f"{api}/actions/workflows/{workflow_id}",
        "head_commit": {
            "id": run.sha,
            "tree_id": stable_sha("tree", run.sha),
            "message": title,
            "timestamp": iso(run.created_at),
            "author": {"name": "Octo Cat", "email": "octocat@example.com"},
            "committer": {"name": "GitHub", "email": "noreply@github.com"},
        },
        "repository": minimal_repository(base, repo),
        "head_repository": (
            minimal_repository(base, FakeRepo(run.head_repository), fork=True)
            if run.head_repository
            else minimal_repository(base, repo)
        ),
    }


def job(base: str, repo: FakeRepo, run: FakeRun, fake_job: FakeJob, attempt: int) -> Json:
    """A `job` object of one attempt of a run."""
    job_id = stable_int("job", run.id, attempt, fake_job.name, digits=11)
    created = run.created_at + timedelta(minutes=7 * (attempt - 1))
    done = fake_job.status == "completed"
    started, completed = created + timedelta(seconds=5), created + timedelta(minutes=5)
    return {
        "id": job_id,
        "run_id": run.id,
        "workflow_name": run.workflow_file.rsplit(".", 1)[0].title(),
        "head_branch": run.head_branch,
        "run_url": f"{base}/repos/{repo.full_name}/actions/runs/{run.id}",
        "run_attempt": attempt,
        "node_id": node_id("CR", job_id),
        "head_sha": run.sha,
        "url": f"{base}/repos/{repo.full_name}/actions/jobs/{job_id}",
        "html_url": f"{HTML}/{repo.full_name}/actions/runs/{run.id}/job/{job_id}",
        "status": fake_job.status,
        "conclusion": fake_job.conclusion if done else None,
        "created_at": iso(created),
        "started_at": iso(started),
        "completed_at": iso(completed) if done else None,
        "name": fake_job.name,
        "steps": [
            {
                "name": "Set up job",
                "status": "completed",
                "conclusion": "success",
                "number": 1,
                "started_at": iso(started),
                "completed_at": iso(started),
            },
            {
                "name": f"Run {fake_job.name}",
                "status": fake_job.status,
                "conclusion": fake_job.conclusion if done else None,
                "number": 2,
                "started_at": iso(started),
                "completed_at": iso(completed) if done else None,
            },
        ],
        "check_run_url": f"{base}/repos/{repo.full_name}/check-runs/{job_id}",
        "labels": ["ubuntu-latest"],
        "runner_id": 7,
        "runner_name": "GitHub Actions 7",
        "runner_group_id": 2,
        "runner_group_name": "GitHub Actions",
    }


def commit(base: str, repo: FakeRepo, fake_commit: FakeCommit) -> Json:
    """A `commit` item of `GET /repos/{o}/{r}/commits`."""
    api = f"{base}/repos/{repo.full_name}"
    date = iso(fake_commit.committer_date)
    person = {"name": "Octo Cat", "email": "octocat@example.com", "date": date}
    tree = stable_sha("tree", fake_commit.sha)
    parents = [stable_sha("parent", fake_commit.sha, n) for n in range(fake_commit.parents)]
    return {
        "sha": fake_commit.sha,
        "node_id": node_id("C", fake_commit.sha),
        "commit": {
            "author": person,
            "committer": person,
            "message": fake_commit.message,
            "tree": {"sha": tree, "url": f"{api}/git/trees/{tree}"},
            "url": f"{api}/git/commits/{fake_commit.sha}",
            "comment_count": 0,
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
                "verified_at": None,
            },
        },
        "url": f"{api}/commits/{fake_commit.sha}",
        "html_url": f"{HTML}/{repo.full_name}/commit/{fake_commit.sha}",
        "comments_url": f"{api}/commits/{fake_commit.sha}/comments",
        "author": user(base, "octocat"),
        "committer": user(base, "web-flow"),
        "parents": [
            {"sha": sha, "url": f"{api}/commits/{sha}", "html_url": f"{HTML}/{repo.full_name}/commit/{sha}"}
            for sha in parents
        ],
    }


def rate_limit(limit: int, used: int, reset: int) -> Json:
    """The `GET /rate_limit` body (core only matters here)."""
    core = {"limit": limit, "used": used, "remaining": max(limit - used, 0), "reset": reset}
    return {"resources": {"core": core}, "rate": core}


def error(message: str, status: int) -> Json:
    """GitHub's JSON error body."""
    return {"message": message, "documentation_url": "https://docs.github.com/rest", "status": str(status)}
