"""The fake's bodies, fetched over HTTP, conform to GitHub's published OpenAPI schema."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from openapi_schema_validator import OAS30Validator
from referencing import Registry
from referencing.jsonschema import DRAFT4

from exporter.demo import FakeApp, FakeGitHub, FakeInstallation

SUBSET = Path(__file__).resolve().parent.parent / "schemas" / "github-rest-subset.json"
EXTRACTOR = Path(__file__).resolve().parents[2] / "scripts" / "extract_github_schema.py"
URI = "urn:github-rest-subset"


def allow_null_in_nullable_enums(node: Any) -> Any:
    """GitHub writes `nullable: true` beside an enum without null and sends null (an unfinished job's
    conclusion); openapi-schema-validator reads OAS 3.0.3 strictly and would refuse it, so add null."""
    if isinstance(node, dict):
        node = {key: allow_null_in_nullable_enums(value) for key, value in node.items()}
        if node.get("nullable") is True and isinstance(node.get("enum"), list) and None not in node["enum"]:
            node["enum"] = [*node["enum"], None]
        return node
    if isinstance(node, list):
        return [allow_null_in_nullable_enums(item) for item in node]
    return node


def allow_a_deleted_forks_head_repo(document: dict[str, Any]) -> dict[str, Any]:
    """GitHub sends `head.repo: null` in a pull request whose fork was deleted, but the published
    `pull-request-simple` says `repository` (github/rest-api-description#1811, open): allow null there only."""
    head = document["components"]["schemas"]["pull-request-simple"]["properties"]["head"]["properties"]
    head["repo"] = {"oneOf": [head["repo"], {"enum": [None]}]}
    return document


DOCUMENT = allow_a_deleted_forks_head_repo(allow_null_in_nullable_enums(json.loads(SUBSET.read_text())))
REGISTRY: Registry[Any] = Registry().with_resource(URI, DRAFT4.create_resource(DOCUMENT))

ENDPOINTS = {
    "repos/get": ["/repos/{repo}"],
    "actions/get-workflow": ["/repos/{repo}/actions/workflows/checks.yml"],
    "actions/list-repo-workflows": ["/repos/{repo}/actions/workflows"],
    "actions/list-workflow-runs": [
        "/repos/{repo}/actions/workflows/checks.yml/runs?per_page=100",
        "/repos/{repo}/actions/workflows/checks.yml/runs?created=>=2026-02-20&branch=main",
    ],
    "actions/list-jobs-for-workflow-run": ["/repos/{repo}/actions/runs/{run}/jobs?filter=all"],
    "repos/list-commits": ["/repos/{repo}/commits?per_page=100"],
    "actions/get-workflow-run": ["/repos/{repo}/actions/runs/{run}"],
    "actions/get-workflow-run-attempt": [
        "/repos/{repo}/actions/runs/{run}/attempts/1",
        "/repos/{repo}/actions/runs/{run}/attempts/{attempt}",
    ],
    "actions/list-jobs-for-workflow-run-attempt": ["/repos/{repo}/actions/runs/{run}/attempts/1/jobs"],
    "pulls/list": ["/repos/{repo}/pulls?state=all&per_page=100", "/repos/{repo}/pulls?sort=updated&base=main"],
    "repos/list-deployments": ["/repos/{repo}/deployments?per_page=100", "/repos/{repo}/deployments?environment=x"],
    "repos/list-deployment-statuses": ["/repos/{repo}/deployments/{deployment}/statuses"],
    "repos/list-releases": ["/repos/{repo}/releases?per_page=100"],
    "repos/compare-commits": [
        "/repos/{repo}/compare/{base}...{head}",
        "/repos/{repo}/compare/{head}...{base}",
        "/repos/{repo}/compare/{head}...{head}?per_page=2",
    ],
    "repos/list-for-org": ["/orgs/{owner}/repos?type=all&sort=created&direction=asc&per_page=100"],
    "repos/list-for-user": ["/users/{owner}/repos?type=owner&sort=created&direction=asc&per_page=100"],
    "repos/get-content": ["/repos/{repo}/contents/.github/workflows/checks.yml?ref=main"],
}


def cases(fake: FakeGitHub, name: str) -> list[dict[str, object]]:
    """URL parameters covering every run, deployment and a pair of commits of a repository."""
    repo = fake.repo(name)
    history = sorted(repo.commits["main"], key=lambda c: c.committer_date)
    runs = [run for run in repo.runs if run.run_attempt > 1] + repo.runs[:3]
    deployments = [d.id for d in repo.deployments]
    return [
        {
            "repo": name,
            "owner": repo.owner,
            "run": run.id,
            "attempt": run.run_attempt,
            "deployment": deployments[index % len(deployments)],
            "base": history[0].sha,
            "head": history[-1].sha[:7] if index % 2 else "main",
        }
        for index, run in enumerate(runs)
    ]


def errors_against(operation: str, body: Any) -> list[str]:
    pointer = operation.replace("/", "~1")
    validator = OAS30Validator({"$ref": f"{URI}#/operations/{pointer}"}, registry=REGISTRY)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)]


def fetch(fake: FakeGitHub, template: str, params: dict[str, object]) -> Any:
    with httpx.Client(base_url=fake.url, timeout=10) as http:
        response = http.get(template.format(**params))
    assert response.status_code == 200, response.text
    return response.json()


def bodies(fake: FakeGitHub, operation: str, name: str) -> list[Any]:
    """The answers to every distinct URL the cases make of the operation's templates."""
    urls = dict.fromkeys(template.format(**params) for params in cases(fake, name) for template in ENDPOINTS[operation])
    return [fetch(fake, url, {}) for url in urls]


@pytest.mark.parametrize("operation", sorted(ENDPOINTS))
def test_demo_bodies_match_githubs_schema(demo: FakeGitHub, operation: str) -> None:
    for body in bodies(demo, operation, "Metta-AI/metta"):
        assert errors_against(operation, body) == []


@pytest.mark.parametrize("operation", sorted(ENDPOINTS))
def test_edge_case_bodies_match_githubs_schema(edge: FakeGitHub, operation: str) -> None:
    for body in bodies(edge, operation, "edge/case"):
        assert errors_against(operation, body) == []


def test_the_edge_cases_reach_the_bodies_checked(edge: FakeGitHub) -> None:
    params = cases(edge, "edge/case")[0]
    pulls = fetch(edge, ENDPOINTS["pulls/list"][0], params)
    releases = fetch(edge, ENDPOINTS["repos/list-releases"][0], params)
    statuses = fetch(edge, "/repos/edge/case/deployments/20/statuses", params)
    assert None in [p["head"]["repo"] for p in pulls]
    assert [r["published_at"] for r in releases if r["draft"]] == [None]
    states = {"error", "failure", "inactive", "pending", "success", "queued", "in_progress"}
    assert {s["state"] for s in statuses} == states
    assert fetch(edge, "/repos/edge/case/deployments/21/statuses", params) == []
    listed = {r["name"]: r for r in fetch(edge, ENDPOINTS["repos/list-for-org"][0], params)}
    assert (listed["empty"]["size"], listed["case"]["archived"], listed["case"]["fork"]) == (0, False, False)
    old = listed["old-fork"]
    assert (old["archived"], old["fork"], old["private"], old["topics"]) == (True, True, True, ["legacy", "python"])


def test_the_schema_check_notices_a_body_github_would_not_send(demo: FakeGitHub) -> None:
    body = fetch(demo, ENDPOINTS["actions/list-workflow-runs"][0], cases(demo, "Metta-AI/metta")[0])
    del body["workflow_runs"][0]["jobs_url"]
    body["workflow_runs"][1]["run_attempt"] = "2"
    assert len(errors_against("actions/list-workflow-runs", body)) == 2


def test_the_null_allowed_for_a_deleted_fork_is_allowed_nowhere_else(demo: FakeGitHub) -> None:
    params = cases(demo, "Metta-AI/metta")[0]
    pulls = fetch(demo, ENDPOINTS["pulls/list"][0], params)
    pulls[0]["head"]["repo"] = None
    assert errors_against("pulls/list", pulls) == []
    pulls[1]["head"]["repo"] = "gone"
    pulls[2]["base"]["repo"] = None
    statuses = fetch(demo, ENDPOINTS["repos/list-deployment-statuses"][0], params)
    statuses[0]["state"] = "done"
    assert {error.split(":")[0] for error in errors_against("pulls/list", pulls)} == {"1/head/repo", "2/base/repo"}
    assert [error.split(":")[0] for error in errors_against("repos/list-deployment-statuses", statuses)] == ["0/state"]


def test_the_schema_subset_holds_what_the_extractor_lists_and_every_operation_the_fake_serves() -> None:
    spec = importlib.util.spec_from_file_location("extract_github_schema", EXTRACTOR)
    assert spec is not None and spec.loader is not None
    extractor = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(extractor)
    assert sorted(DOCUMENT["operations"]) == sorted(extractor.OPERATIONS)
    assert set(ENDPOINTS) | set(APP_ENDPOINTS) <= set(DOCUMENT["operations"])


APP_ENDPOINTS = {
    "apps/list-installations": ("GET", "/app/installations"),
    "apps/get-org-installation": ("GET", "/orgs/octo/installation"),
    "apps/create-installation-access-token": ("POST", "/app/installations/7/access_tokens"),
}


@pytest.fixture(scope="module")
def app_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.mark.parametrize("operation", sorted(APP_ENDPOINTS))
def test_app_bodies_match_githubs_schema(fake: FakeGitHub, app_key: rsa.RSAPrivateKey, operation: str) -> None:
    public = app_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    fake.app = FakeApp(1, public, [FakeInstallation(7, "octo")])
    now = int(fake.clock().timestamp())
    signed = jwt.encode({"iat": now - 60, "exp": now + 300, "iss": "1"}, app_key, algorithm="RS256")
    method, path = APP_ENDPOINTS[operation]
    with httpx.Client(base_url=fake.url, timeout=10) as http:
        response = http.request(method, path, headers={"Authorization": f"Bearer {signed}"})
    assert response.status_code == (201 if method == "POST" else 200), response.text
    assert errors_against(operation, response.json()) == []
