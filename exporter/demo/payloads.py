"""JSON builders shaped like GitHub's REST answers (schema: tests/schemas/github-rest-subset.json).

Every API URL points at the fake's own base URL (PyGithub refuses to follow another host);
`html_url`s point at https://github.com as GitHub's do.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from exporter.demo.model import (
    FakeCommit,
    FakeDeployment,
    FakeDeploymentStatus,
    FakeJob,
    FakePull,
    FakeRelease,
    FakeRepo,
    FakeRun,
    stable_int,
    stable_sha,
)

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


def user_id(login: str) -> int:
    """The account id of `login` (any case), as `user` shows it."""
    return stable_int("user", login.lower(), digits=8)


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
        "private": repo.visibility != "public",
        "owner": user(base, repo.owner, repo.owner_type),
        "html_url": f"{HTML}/{repo.full_name}",
        "description": None,
        "fork": fork or repo.fork,
        "url": url,
        **{key: url + suffix for key, suffix in _REPO_URLS.items()},
    }


def full_repository(base: str, repo: FakeRepo) -> Json:
    """A `full-repository` object (`GET /repos/{o}/{r}`)."""
    return {**listed_repository(base, repo), "network_count": 0, "subscribers_count": 0}


def listed_repository(base: str, repo: FakeRepo) -> Json:
    """A repository as an organisation's or a user's list shows it (a `minimal-repository` with its counts,
    flags, `archived`, `size`, `topics`, `visibility` and times)."""
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
        "archived": repo.archived,
        "disabled": False,
        "visibility": repo.visibility,
        "license": None,
        "default_branch": repo.default_branch,
        "topics": list(repo.topics),
        "is_template": False,
        "size": repo.size,
        "created_at": iso(repo.created_at),
        "updated_at": iso(repo.pushed_at),
        "pushed_at": iso(repo.pushed_at),
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


def workflow_run(base: str, repo: FakeRepo, run: FakeRun, run_number: int, attempt: int | None = None) -> Json:
    """A `workflow-run` object with the latest attempt's fields, or with attempt `attempt`'s fields
    as `GET .../runs/{id}/attempts/{n}` answers (its own status, conclusion, times and jobs_url)."""
    api = f"{base}/repos/{repo.full_name}"
    run_url = f"{api}/actions/runs/{run.id}"
    workflow_id = repo.workflow_id(run.workflow_file)
    shown = run.attempt(attempt or run.run_attempt)
    attempt_url = f"{run_url}/attempts/{shown.number}" if attempt else run_url
    # GitHub's attempt answer dates a later attempt's created_at from when that attempt was created.
    created = shown.started_at if attempt and shown.number > 1 else run.created_at
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
        "status": shown.status,
        "conclusion": shown.conclusion,
        "workflow_id": workflow_id,
        "check_suite_id": stable_int("suite", run.id, digits=11),
        "check_suite_node_id": node_id("CS", run.id),
        "url": run_url,
        "html_url": f"{HTML}/{repo.full_name}/actions/runs/{run.id}",
        "pull_requests": [],
        "created_at": iso(created),
        "updated_at": iso(shown.updated_at),
        "actor": actor,
        "run_attempt": shown.number,
        "referenced_workflows": [],
        "run_started_at": iso(shown.started_at),
        "triggering_actor": actor,
        "jobs_url": f"{attempt_url}/jobs",
        "logs_url": f"{attempt_url}/logs",
        "check_suite_url": f"{api}/check-suites/{stable_int('suite', run.id, digits=11)}",
        "artifacts_url": f"{run_url}/artifacts",
        "cancel_url": f"{run_url}/cancel",
        "rerun_url": f"{run_url}/rerun",
        "previous_attempt_url": f"{run_url}/attempts/{shown.number - 1}" if shown.number > 1 else None,
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
    shown = run.attempt(attempt)
    created = shown.started_at
    done = fake_job.status == "completed"
    started = created + timedelta(seconds=5)
    completed = max(started, shown.updated_at - timedelta(seconds=10))  # the run ends after its last job
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


def repository(base: str, full_name: str, created: datetime, fork: bool = False) -> Json:
    """A `repository` object, as embedded in a pull request's `head` and `base`."""
    owner_kind = "User" if fork else "Organization"
    body = full_repository(base, FakeRepo(full_name, created_at=created))
    for key in ("network_count", "subscribers_count"):
        body.pop(key)
    return body | {"fork": fork, "owner": user(base, full_name.split("/", 1)[0], owner_kind)}


def _kind(login: str) -> str:
    return "Bot" if login.endswith("[bot]") else "User"


def _link(href: str) -> Json:
    return {"href": href}


def pull_request(base: str, repo: FakeRepo, pull: FakePull, created: datetime) -> Json:
    """A `pull-request-simple` item of `GET /repos/{o}/{r}/pulls`."""
    api = f"{base}/repos/{repo.full_name}"
    url = f"{api}/pulls/{pull.number}"
    html = f"{HTML}/{repo.full_name}/pull/{pull.number}"
    issue = f"{api}/issues/{pull.number}"
    statuses = f"{api}/statuses/{pull.sha}"
    head_owner = pull.head_owner or repo.owner
    if pull.fork is None:
        head_repo: Json | None = repository(base, repo.full_name, created)
    else:
        head_repo = None if pull.fork_deleted else repository(base, pull.fork, created, fork=True)
    labels = [
        {
            "id": stable_int("label", repo.full_name, name),
            "node_id": node_id("LA", stable_int("label", repo.full_name, name)),
            "url": f"{api}/labels/{name}",
            "name": name,
            "description": "",
            "color": "ededed",
            "default": False,
        }
        for name in pull.labels
    ]
    closed = pull.closed
    association = "CONTRIBUTOR" if pull.fork else ("NONE" if _kind(pull.author) == "Bot" else "MEMBER")
    return {
        "url": url,
        "id": stable_int("pull", repo.full_name, pull.number, digits=10),
        "node_id": node_id("PR", stable_int("pull", repo.full_name, pull.number, digits=10)),
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": issue,
        "number": pull.number,
        "state": pull.state,
        "locked": False,
        "title": pull.title,
        "user": user(base, pull.author, _kind(pull.author)),
        "body": pull.body,
        "labels": labels,
        "milestone": None,
        "active_lock_reason": None,
        "created_at": iso(pull.created_at),
        "updated_at": iso(pull.last_update),
        "closed_at": iso(closed) if closed else None,
        "merged_at": iso(pull.merged_at) if pull.merged_at else None,
        "merge_commit_sha": pull.merge_commit_sha or stable_sha("test-merge", repo.full_name, pull.number),
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "commits_url": f"{url}/commits",
        "review_comments_url": f"{url}/comments",
        "review_comment_url": f"{api}/pulls/comments{{/number}}",
        "comments_url": f"{issue}/comments",
        "statuses_url": statuses,
        "head": {
            "label": f"{head_owner}:{pull.head_ref}",
            "ref": pull.head_ref,
            "sha": pull.sha,
            "user": user(base, head_owner, "User" if pull.fork else "Organization"),
            "repo": head_repo,
        },
        "base": {
            "label": f"{repo.owner}:{pull.base_ref}",
            "ref": pull.base_ref,
            "sha": stable_sha("base", repo.full_name, pull.base_ref, pull.number),
            "user": user(base, repo.owner, "Organization"),
            "repo": repository(base, repo.full_name, created),
        },
        "_links": {
            "self": _link(url),
            "html": _link(html),
            "issue": _link(issue),
            "comments": _link(f"{issue}/comments"),
            "review_comments": _link(f"{url}/comments"),
            "review_comment": _link(f"{api}/pulls/comments{{/number}}"),
            "commits": _link(f"{url}/commits"),
            "statuses": _link(statuses),
        },
        "author_association": association,
        "auto_merge": None,
        "draft": pull.draft,
    }


def deployment(base: str, repo: FakeRepo, fake: FakeDeployment) -> Json:
    """A `deployment` item of `GET /repos/{o}/{r}/deployments`."""
    api = f"{base}/repos/{repo.full_name}"
    url = f"{api}/deployments/{fake.id}"
    return {
        "url": url,
        "id": fake.id,
        "node_id": node_id("DE", fake.id),
        "sha": fake.sha,
        "ref": fake.ref,
        "task": fake.task,
        "payload": {},
        "original_environment": fake.environment,
        "environment": fake.environment,
        "description": fake.description,
        "creator": user(base, fake.creator, _kind(fake.creator)),
        "created_at": iso(fake.created_at),
        "updated_at": iso(fake.updated_at),
        "statuses_url": f"{url}/statuses",
        "repository_url": api,
        "transient_environment": fake.transient,
        "production_environment": fake.environment == "production",
        "performed_via_github_app": None,
    }


def deployment_status(base: str, repo: FakeRepo, fake: FakeDeployment, status: FakeDeploymentStatus) -> Json:
    """A `deployment-status` item of `GET .../deployments/{id}/statuses`."""
    api = f"{base}/repos/{repo.full_name}"
    deployment_url = f"{api}/deployments/{fake.id}"
    status_id = stable_int("deployment-status", fake.id, status.state, iso(status.created_at), digits=10)
    log = f"{HTML}/{repo.full_name}/actions/runs/{stable_int('deploy-run', fake.id, digits=10)}"
    return {
        "url": f"{deployment_url}/statuses/{status_id}",
        "id": status_id,
        "node_id": node_id("DES", status_id),
        "state": status.state,
        "creator": user(base, fake.creator, _kind(fake.creator)),
        "description": status.description,
        "environment": fake.environment,
        "target_url": log,
        "created_at": iso(status.created_at),
        "updated_at": iso(status.created_at),
        "deployment_url": deployment_url,
        "repository_url": api,
        "environment_url": "",
        "log_url": log,
        "performed_via_github_app": None,
    }


def release(base: str, repo: FakeRepo, fake: FakeRelease) -> Json:
    """A `release` item of `GET /repos/{o}/{r}/releases` (a draft: no tag yet, no archives)."""
    api = f"{base}/repos/{repo.full_name}"
    url = f"{api}/releases/{fake.id}"
    published = fake.published
    html_tag = f"untagged-{stable_sha('draft', fake.id)[:20]}" if fake.draft else fake.tag_name
    return {
        "url": url,
        "html_url": f"{HTML}/{repo.full_name}/releases/tag/{html_tag}",
        "assets_url": f"{url}/assets",
        "upload_url": f"https://uploads.github.com/repos/{repo.full_name}/releases/{fake.id}/assets{{?name,label}}",
        "tarball_url": None if fake.draft else f"{api}/tarball/{fake.tag_name}",
        "zipball_url": None if fake.draft else f"{api}/zipball/{fake.tag_name}",
        "id": fake.id,
        "node_id": node_id("RE", fake.id),
        "tag_name": fake.tag_name,
        "target_commitish": fake.target_commitish,
        "name": fake.name,
        "body": fake.body,
        "draft": fake.draft,
        "prerelease": fake.prerelease,
        "immutable": False,
        "created_at": iso(fake.created_at),
        "updated_at": iso(published or fake.created_at),
        "published_at": iso(published) if published else None,
        "author": user(base, fake.author, _kind(fake.author)),
        "assets": [],
    }


def comparison(
    base: str,
    repo: FakeRepo,
    refs: tuple[str, str],
    ends: tuple[FakeCommit, FakeCommit, FakeCommit],
    counts: tuple[int, int],
    commits: list[FakeCommit],
) -> Json:
    """A `commit-comparison` (`GET .../compare/{base}...{head}`) without its `files`.

    `ends` are the base, head and merge-base commits, `counts` is (ahead_by, behind_by) and
    `commits` the commits shown, oldest first.
    """
    base_ref, head_ref = refs
    base_commit, head_commit, merge_base = ends
    ahead, behind = counts
    status = "identical" if ahead == behind == 0 else "diverged" if ahead and behind else "ahead" if ahead else "behind"
    spec = f"{base_ref}...{head_ref}"
    permalink = f"{repo.owner}:{base_commit.sha[:7]}...{repo.owner}:{head_commit.sha[:7]}"
    return {
        "url": f"{base}/repos/{repo.full_name}/compare/{spec}",
        "html_url": f"{HTML}/{repo.full_name}/compare/{spec}",
        "permalink_url": f"{HTML}/{repo.full_name}/compare/{permalink}",
        "diff_url": f"{HTML}/{repo.full_name}/compare/{spec}.diff",
        "patch_url": f"{HTML}/{repo.full_name}/compare/{spec}.patch",
        "base_commit": commit(base, repo, base_commit),
        "merge_base_commit": commit(base, repo, merge_base),
        "status": status,
        "ahead_by": ahead,
        "behind_by": behind,
        "total_commits": ahead,
        "commits": [commit(base, repo, c) for c in commits],
    }


def rate_limit(limit: int, used: int, reset: int) -> Json:
    """The `GET /rate_limit` body (core only matters here)."""
    core = {"limit": limit, "used": used, "remaining": max(limit - used, 0), "reset": reset}
    return {"resources": {"core": core}, "rate": core}


def error(message: str, status: int) -> Json:
    """GitHub's JSON error body."""
    return {"message": message, "documentation_url": "https://docs.github.com/rest", "status": str(status)}


def content_file(base: str, repo: FakeRepo, path: str, ref: str, text: str) -> Json:
    """A `content-file` object (`GET .../contents/{path}`): the file's bytes in base64, in lines of 60
    characters as GitHub sends them, and its git blob sha."""
    data = text.encode()
    sha = hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()
    encoded = base64.b64encode(data).decode()
    api = f"{base}/repos/{repo.full_name}"
    self_url = f"{api}/contents/{path}?ref={ref}"
    git_url = f"{api}/git/blobs/{sha}"
    html_url = f"{HTML}/{repo.full_name}/blob/{ref}/{path}"
    return {
        "type": "file",
        "encoding": "base64",
        "size": len(data),
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "content": "\n".join(encoded[start : start + 60] for start in range(0, len(encoded), 60)) + "\n",
        "sha": sha,
        "url": self_url,
        "git_url": git_url,
        "html_url": html_url,
        "download_url": f"https://raw.githubusercontent.com/{repo.full_name}/{ref}/{path}",
        "_links": {"self": self_url, "git": git_url, "html": html_url},
    }
