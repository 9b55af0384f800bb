"""The HTTP app, in process."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from exporter.demo import FakeGitHub
from exporter.web.app import PAGE_CSP, SECURITY_HEADERS, create_app
from tests.conftest import Wiring, commit, repo, run


class InProcess:
    """A synchronous client that calls the ASGI app directly (httpx.ASGITransport), no server."""

    def __init__(self, app: FastAPI) -> None:
        self._app = app

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self._app)
            async with httpx.AsyncClient(transport=transport, base_url="http://exporter") as client:
                return await client.request(method, path, **kwargs)

        return asyncio.run(send())

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)


@pytest.fixture
def client(fake: FakeGitHub, wire: Wiring) -> Iterator[InProcess]:
    fake.add_repo(repo(runs=[run(1)], commits=[commit(1, "hotfix: a"), commit(2, "Revert b")]))
    exporter = wire(EXPORTER_REFRESH_MIN_INTERVAL_SECONDS="0")
    yield InProcess(create_app(exporter.settings, exporter.collector, exporter.registry))


def test_metrics_is_prometheus_text_that_a_browser_shows_as_text(client: InProcess) -> None:
    response = client.get("/metrics", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'commits_hotfix{branch="main",repo="octo/app"} 1.0' in response.text


def test_metrics_answers_openmetrics_when_asked(client: InProcess) -> None:
    response = client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF")
    assert "system_health_exporter_info{" in response.text


def test_refresh_recomputes_and_answers_every_value_as_json(client: InProcess, fake: FakeGitHub) -> None:
    client.get("/metrics")
    fake.clear_requests()
    for method in ("GET", "POST"):
        body = client.request(method, "/refresh").json()
        metrics = body["repositories"]["octo/app"]["metrics"]
        assert metrics["ci.tests_passing_on_main"]["value"] == 1.0
        assert metrics["commits.hotfix"]["value"] == 1.0
        assert metrics["commits.reverts"]["value"] == 1.0
        assert body["failed"] == 0
        assert body["seconds"] >= 0
    assert len(fake.requests) == 4  # twice the runs and the commits


def test_refresh_reports_per_repository_errors(client: InProcess, fake: FakeGitHub) -> None:
    fake.repos.clear()
    body = client.post("/refresh").json()
    error = body["repositories"]["octo/app"]["metrics"]["commits.hotfix"]["error"]
    assert error["reason"] == "not_found"
    assert body["failed"] == 3


def test_healthz_answers_without_touching_github(client: InProcess, fake: FakeGitHub) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert fake.requests == []


def test_the_status_page_links_the_metrics_catalog_and_readme_and_allows_only_its_own_script_and_style(
    client: InProcess,
) -> None:
    response = client.get("/")
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    for link in ('href="/metrics"', 'href="/catalog"', 'href="/readme"', 'href="/status.json"'):
        assert link in response.text
    policy = response.headers["content-security-policy"]
    assert policy == PAGE_CSP
    assert "unsafe-inline" not in policy and "script-src 'self'" in policy and "style-src 'self'" in policy
    scripts = re.findall(r"<script[^>]*>", response.text)
    assert len(scripts) == 1 and 'src="/static/status.js?v=' in scripts[0], "no inline script"
    assert "<style" not in response.text and " style=" not in response.text, "no inline style"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


def test_metrics_and_json_answers_keep_the_default_security_policy(client: InProcess) -> None:
    for path in ("/metrics", "/status.json", "/refresh", "/healthz"):
        assert client.get(path).headers["content-security-policy"] == SECURITY_HEADERS["Content-Security-Policy"]


def test_the_pages_assets_have_their_content_types_and_are_kept_while_their_hash_is_asked(client: InProcess) -> None:
    page = client.get("/").text
    urls = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
    types = {}
    for url in urls:
        kept = client.get(url)
        assert kept.status_code == 200 and kept.headers["cache-control"] == "public, max-age=31536000, immutable"
        types[url.split("?")[0]] = kept.headers["content-type"]
        other = client.get(url.split("?")[0] + "?v=old")
        assert other.status_code == 200 and other.headers["cache-control"] == "no-cache"
    assert types == {
        "/static/status.css": "text/css; charset=utf-8",
        "/static/status.js": "text/javascript; charset=utf-8",
    }
    assert client.get("/static/app.py").status_code == 404
    assert client.get("/static/..%2Fapp.py").status_code == 404


def test_status_json_carries_what_the_page_shows(client: InProcess) -> None:
    client.get("/")  # a first visit refreshes, as a scrape would
    body = client.get("/status.json").json()
    assert body["refreshes"] == 1 and body["token_required"] is False
    (app,) = body["repos"]
    rows = {row["key"]: row for row in app["rows"]}
    assert (rows["commits.hotfix"]["value"], rows["commits.hotfix"]["goal"]) == ("1 commit", "≤ 4 commits")
    assert (rows["commits.reverts"]["verdict"], rows["commits.reverts"]["score"]) == ("✗ missed", "0.75")
    assert rows["ci.tests_passing_on_main"]["labels"] == {"workflow": "checks.yml"}
    assert app["summary"] == "▼ below goal · score 0.91"


def test_the_catalog_and_the_readme_open_as_text(client: InProcess) -> None:
    catalog = client.get("/catalog")
    assert catalog.headers["content-type"] == "text/plain; charset=utf-8"
    assert "`commits.hotfix`" in catalog.text
    readme = client.get("/readme")
    assert readme.headers["content-type"] == "text/plain; charset=utf-8"
    assert readme.text.startswith("# system-health-exporter")


def test_an_unknown_path_is_a_plain_404(client: InProcess) -> None:
    response = client.get("/nope")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


def test_a_wrong_method_is_405(client: InProcess) -> None:
    assert client.delete("/metrics").status_code == 405


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_refresh_inside_the_cooldown_is_429_with_retry_after(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(1)]))
    exporter, clock = wire(EXPORTER_REFRESH_MIN_INTERVAL_SECONDS="10"), Clock()
    client = InProcess(create_app(exporter.settings, exporter.collector, exporter.registry, monotonic=clock))
    assert client.post("/refresh").status_code == 200
    clock.now += 3
    refused = client.post("/refresh")
    assert (refused.status_code, refused.headers["retry-after"]) == (429, "7")
    clock.now += 7
    assert client.get("/refresh").status_code == 200
    assert exporter.collector.refreshes_started == 2


def test_refresh_with_a_token_configured_needs_the_bearer_token(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(1)]))
    exporter = wire(EXPORTER_REFRESH_TOKEN="s3cret", EXPORTER_REFRESH_MIN_INTERVAL_SECONDS="0")
    client = InProcess(create_app(exporter.settings, exporter.collector, exporter.registry))
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
        refused = client.post("/refresh", headers=headers)
        assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")
        assert "s3cret" not in refused.text
    assert exporter.collector.refreshes_started == 0
    assert client.post("/refresh", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_the_bearer_scheme_is_accepted_in_any_case(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(1)]))
    exporter = wire(EXPORTER_REFRESH_TOKEN="s3cret", EXPORTER_REFRESH_MIN_INTERVAL_SECONDS="0")
    client = InProcess(create_app(exporter.settings, exporter.collector, exporter.registry))
    for header in ("bearer s3cret", "BEARER s3cret", "BeArEr  s3cret "):
        assert client.post("/refresh", headers={"Authorization": header}).status_code == 200, header
    for header in ("Basic s3cret", "bearer S3CRET", "bearers3cret", "bearer"):
        assert client.post("/refresh", headers={"Authorization": header}).status_code == 401, header
    assert exporter.collector.refreshes_started == 3


def test_concurrent_refresh_calls_join_one_refresh(fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(1)]))
    fake.latency_seconds = 0.05
    exporter = wire()
    app = create_app(exporter.settings, exporter.collector, exporter.registry)

    async def many() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://exporter") as client:
            answers = await asyncio.gather(*(client.post("/refresh") for _ in range(20)))
        return [answer.status_code for answer in answers]

    assert asyncio.run(many()) == [200] * 20
    assert exporter.collector.refreshes_started == 1
    # One refresh: runs and commits (the run's jobs are read only for EXPORTER_CI_REQUIRED_JOBS)
    assert len(fake.requests) == 2


def test_refresh_once_the_exporter_is_shutting_down_is_503_and_starts_no_refresh(
    fake: FakeGitHub, wire: Wiring
) -> None:
    fake.add_repo(repo(runs=[run(1)]))
    exporter = wire()
    client = InProcess(create_app(exporter.settings, exporter.collector, exporter.registry))
    exporter.collector.stopping.set()  # as the server does when its shutdown begins
    answer = client.post("/refresh")
    assert (answer.status_code, answer.json()) == (503, {"error": "the exporter is shutting down"})
    assert exporter.collector.refreshes_started == 0
    assert fake.requests == []
