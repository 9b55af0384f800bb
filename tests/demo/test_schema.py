"""The fake's bodies, fetched over HTTP, conform to GitHub's published OpenAPI schema."""

from __future__ import annotations

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


DOCUMENT = allow_null_in_nullable_enums(json.loads(SUBSET.read_text()))
REGISTRY: Registry[Any] = Registry().with_resource(URI, DRAFT4.create_resource(DOCUMENT))

ENDPOINTS = {
    "repos/get": "/repos/{repo}",
    "actions/get-workflow": "/repos/{repo}/actions/workflows/checks.yml",
    "actions/list-repo-workflows": "/repos/{repo}/actions/workflows",
    "actions/list-workflow-runs": "/repos/{repo}/actions/workflows/checks.yml/runs?per_page=100",
    "actions/list-jobs-for-workflow-run": "/repos/{repo}/actions/runs/{run}/jobs?filter=all",
    "repos/list-commits": "/repos/{repo}/commits?per_page=100",
}


def errors_against(operation: str, body: Any) -> list[str]:
    pointer = operation.replace("/", "~1")
    validator = OAS30Validator({"$ref": f"{URI}#/operations/{pointer}"}, registry=REGISTRY)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)]


def fetch(fake: FakeGitHub, template: str, repo: str, run: int) -> Any:
    with httpx.Client(base_url=fake.url, timeout=10) as http:
        response = http.get(template.format(repo=repo, run=run))
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("operation", sorted(ENDPOINTS))
def test_demo_bodies_match_githubs_schema(demo: FakeGitHub, operation: str) -> None:
    run = demo.repo("Metta-AI/metta").runs[3].id  # the re-run, attempt 2
    body = fetch(demo, ENDPOINTS[operation], "Metta-AI/metta", run)
    assert errors_against(operation, body) == []


@pytest.mark.parametrize("operation", sorted(ENDPOINTS))
def test_edge_case_bodies_match_githubs_schema(edge: FakeGitHub, operation: str) -> None:
    for run in (11, 10, 9, 8):
        body = fetch(edge, ENDPOINTS[operation], "edge/case", run)
        assert errors_against(operation, body) == []


def test_the_schema_check_notices_a_body_github_would_not_send(demo: FakeGitHub) -> None:
    body = fetch(demo, ENDPOINTS["actions/list-workflow-runs"], "Metta-AI/metta", 0)
    del body["workflow_runs"][0]["jobs_url"]
    body["workflow_runs"][1]["run_attempt"] = "2"
    assert len(errors_against("actions/list-workflow-runs", body)) == 2


def test_the_schema_subset_holds_every_operation_the_fake_serves() -> None:
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
