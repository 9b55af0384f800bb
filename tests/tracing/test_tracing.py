"""APM tracing: the exporter as a real process sending to ddapm-test-agent, and the @trace decorator."""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import boto3
import httpx
import pytest

from exporter import tracing
from exporter.demo import FakeCommit, FakeGitHub, FakeJob, FakeRepo, FakeRun, Fault
from exporter.metrics.registry import default_registry
from exporter.settings import Settings
from exporter.tracing import agent_url, trace
from tests.conftest import ORIGINAL_METRICS
from tests.tracing.conftest import (
    ENV,
    ROOT,
    SERVICE,
    VERSION,
    ApmTestAgent,
    Span,
    clean_env,
    running_exporter,
    traced_env,
)

TOKEN = "ghp_TRACING-must-never-show-4f1c9a"  # distinct, so a leak anywhere is found by grep
HEALTHY, BROKEN, MISSING = "octo/app", "octo/broken", "octo/ghost"
SHIPPED_KEYS = {spec.key for spec in default_registry()}
METRIC_KEYS = set(ORIGINAL_METRICS)  # what the exporter processes compute (tests/processes.py)


def sample_repo(name: str) -> FakeRepo:
    now = datetime.now(UTC)
    runs = [FakeRun(id=7, conclusion="success", created_at=now - timedelta(hours=1), jobs=[FakeJob("tests")])]
    commits = [FakeCommit(f"{n:040x}", message, now - timedelta(hours=n)) for n, message in enumerate(("a", "b"), 1)]
    return FakeRepo(name, runs=runs, commits={"main": commits})


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeGitHub]:
    """octo/app answers; octo/broken's commits answer 500; octo/ghost does not exist (404)."""
    github = FakeGitHub(repos=[sample_repo(HEALTHY), sample_repo(BROKEN)])
    github.valid_tokens = {TOKEN}
    github.inject(Fault(kind="status", status=500, path_regex=rf"^/repos/{BROKEN}/commits"))
    github.start()
    try:
        yield github
    finally:
        github.stop()


@dataclass
class Scrape:
    """What one scrape of a traced exporter left behind."""

    spans: list[Span]
    output: str
    body: str
    github_requests: int

    def named(self, name: str) -> list[Span]:
        return [span for span in self.spans if span["name"] == name]

    def children(self, parent: Span, name: str | None = None) -> list[Span]:
        return [
            span
            for span in self.spans
            if span["parent_id"] == parent["span_id"] and span["trace_id"] == parent["trace_id"]
            if name is None or span["name"] == name
        ]

    def repo_span(self, repo: str) -> Span:
        (found,) = [span for span in self.named("exporter.repo") if span["meta"].get("repo") == repo]
        return found

    def metric_spans(self, repo: str) -> dict[str, Span]:
        return {span["meta"]["metric"]: span for span in self.children(self.repo_span(repo), "exporter.metric")}


@pytest.fixture(scope="module")
def scrape(apm_agent: ApmTestAgent, fake: FakeGitHub) -> Scrape:
    """Start a traced exporter over three repositories, scrape /metrics once, stop it, read the spans."""
    fake.clear_requests()
    session = apm_agent.start_session()
    env = traced_env(
        apm_agent,
        session,
        GITHUB_TOKEN=TOKEN,
        EXPORTER_GITHUB_API_URL=fake.url,
        EXPORTER_REPOS=f"{HEALTHY},{BROKEN},{MISSING}",
        EXPORTER_GITHUB_RETRIES="0",
        EXPORTER_SCRAPE_WAIT_SECONDS="60",  # the scrape waits for the refresh, so its spans are done
    )
    with running_exporter(env) as exporter:
        response = httpx.get(f"{exporter.url}/metrics", timeout=90)
        assert response.status_code == 200
    spans = apm_agent.wait_for_spans(
        session, lambda spans: any(s["name"] == "fastapi.request" and s["resource"] == "GET /metrics" for s in spans)
    )
    return Scrape(spans, exporter.output, response.text, len(fake.requests))


def test_a_scrape_traces_the_request_the_refresh_each_repository_and_each_metric(scrape: Scrape) -> None:
    (refresh,) = scrape.named("exporter.refresh")
    (request,) = [span for span in scrape.named("fastapi.request") if span["span_id"] == refresh["parent_id"]]
    assert request["resource"] == "GET /metrics"
    assert request["trace_id"] == refresh["trace_id"]
    repos = scrape.children(refresh, "exporter.repo")
    assert sorted(span["meta"]["repo"] for span in repos) == sorted([HEALTHY, BROKEN, MISSING])
    for repo_span in repos:
        assert repo_span["resource"] == repo_span["meta"]["repo"]
        metrics = scrape.metric_spans(repo_span["meta"]["repo"])
        assert set(metrics) == METRIC_KEYS
        assert all(span["meta"]["repo"] == repo_span["meta"]["repo"] for span in metrics.values())
        assert all(span["resource"] == key for key, span in metrics.items())


def test_each_github_request_is_a_client_span_under_its_metric_with_status_and_rate_limit(
    scrape: Scrape, fake: FakeGitHub
) -> None:
    requests = scrape.named("github.request")
    metric_ids = {span["span_id"] for span in scrape.named("exporter.metric")}
    assert len(requests) == scrape.github_requests
    for span in requests:
        assert span["parent_id"] in metric_ids
        meta = span["meta"]
        assert meta["span.kind"] == "client"
        assert meta["http.method"] == "GET"
        assert meta["http.url"].startswith(f"{fake.url}/repos/")
        assert "?" not in meta["http.url"]
        assert span["resource"] == f"GET {meta['http.url'].removeprefix(fake.url)}".replace("/7/", "/?/")
        assert meta["http.status_code"] in {"200", "404", "500"}
        assert span["metrics"]["github.ratelimit.remaining"] < 5000
    statuses = {span["meta"]["http.status_code"] for span in requests}
    assert statuses == {"200", "404", "500"}


def test_a_request_answered_304_from_the_conditional_cache_says_so_on_its_span(
    apm_agent: ApmTestAgent, fake: FakeGitHub
) -> None:
    session = apm_agent.start_session()
    env = traced_env(
        apm_agent,
        session,
        GITHUB_TOKEN=TOKEN,
        EXPORTER_GITHUB_API_URL=fake.url,
        EXPORTER_REPOS=HEALTHY,
        EXPORTER_CONDITIONAL_REQUESTS="true",
        EXPORTER_CACHE_TTL_SECONDS="0",  # every scrape refreshes
        EXPORTER_SCRAPE_WAIT_SECONDS="60",
    )
    with running_exporter(env) as exporter:
        for _ in range(2):
            assert httpx.get(f"{exporter.url}/metrics", timeout=90).status_code == 200
    spans = apm_agent.wait_for_spans(session, lambda spans: sum(s["name"] == "exporter.refresh" for s in spans) == 2)
    revalidated = [span for span in spans if span["meta"].get("github.cache") == "revalidated"]
    assert revalidated
    assert all(span["meta"]["http.status_code"] == "200" and span["error"] == 0 for span in revalidated)


def test_every_span_carries_the_configured_service_env_and_version(scrape: Scrape) -> None:
    assert scrape.spans
    for span in scrape.spans:
        assert (span["service"], span["meta"].get("env"), span["meta"].get("version")) == (SERVICE, ENV, VERSION)


def test_a_repository_whose_github_calls_fail_marks_its_spans_as_errors(scrape: Scrape) -> None:
    missing = scrape.repo_span(MISSING)
    assert missing["error"] == 1
    for span in scrape.metric_spans(MISSING).values():
        assert span["error"] == 1
        assert span["meta"]["error.type"] == "exporter.errors.SourceError"
        assert span["meta"]["exporter.reason"] == "not_found"

    broken = scrape.metric_spans(BROKEN)
    assert scrape.repo_span(BROKEN)["error"] == 1
    assert broken["ci.tests_passing_on_main"]["error"] == 0
    for key in {key for key in METRIC_KEYS if key.startswith("commits.")}:  # BROKEN's commits answer 500
        assert broken[key]["error"] == 1
        assert broken[key]["meta"]["exporter.reason"] == "server_error"
    failed_requests = [span for span in scrape.named("github.request") if span["meta"]["http.status_code"] == "500"]
    assert failed_requests and all(span["error"] == 1 for span in failed_requests)
    not_found = [span for span in scrape.named("github.request") if span["meta"]["http.status_code"] == "404"]
    assert not_found and all(span["error"] == 0 for span in not_found)  # the metric span says what it means


def test_a_healthy_repository_and_the_refresh_itself_are_not_errors(scrape: Scrape) -> None:
    (refresh,) = scrape.named("exporter.refresh")
    healthy = scrape.repo_span(HEALTHY)
    assert refresh["error"] == healthy["error"] == 0
    assert all(span["error"] == 0 for span in scrape.metric_spans(HEALTHY).values())
    assert "ci_tests_passing_on_main" in scrape.body


def test_no_span_and_no_log_line_carries_the_github_token(scrape: Scrape) -> None:
    assert TOKEN not in json.dumps(scrape.spans)
    assert TOKEN not in scrape.output


def test_log_lines_carry_the_trace_and_span_ids_of_the_refresh(scrape: Scrape) -> None:
    (refresh,) = scrape.named("exporter.refresh")
    (line,) = [line for line in scrape.output.splitlines() if "refresh of 3 repositories" in line]
    found = re.search(r"dd\.trace_id=(\w+) dd\.span_id=(\d+)\]", line)
    assert found is not None, line
    assert found.group(2) == str(refresh["span_id"])
    assert found.group(1) in log_trace_ids(refresh, scrape.spans)
    assert f"dd.service={SERVICE} dd.env={ENV} dd.version={VERSION}" in line


def log_trace_ids(span: Span, spans: list[Span]) -> set[str]:
    """How ddtrace writes this span's trace id in logs: 32 hex digits (128-bit ids) or decimal.

    The upper 64 bits travel as the `_dd.p.tid` tag of the trace's first span only."""
    low = int(span["trace_id"])
    highs = {s["meta"]["_dd.p.tid"] for s in spans if s["trace_id"] == low and "_dd.p.tid" in s["meta"]}
    return {str(low)} | {f"{high}{low:016x}" for high in highs}


def aws_env(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }


def test_reading_the_token_from_secrets_manager_is_a_span_that_never_holds_the_token(
    apm_agent: ApmTestAgent, fake: FakeGitHub, moto_server: str
) -> None:
    client = boto3.client(
        "secretsmanager",
        endpoint_url=moto_server,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_secret(Name="tracing/token", SecretString=json.dumps({"token": TOKEN}))
    session = apm_agent.start_session()
    env = traced_env(
        apm_agent,
        session,
        EXPORTER_GITHUB_API_URL=fake.url,
        EXPORTER_REPOS=HEALTHY,
        EXPORTER_GITHUB_TOKEN_SECRET_ID="tracing/token",
        EXPORTER_SCRAPE_WAIT_SECONDS="60",
        **aws_env(moto_server),
    )
    with running_exporter(env) as exporter:
        assert httpx.get(f"{exporter.url}/metrics", timeout=90).status_code == 200
    spans = apm_agent.wait_for_spans(session, lambda spans: any(s["name"] == "exporter.refresh" for s in spans))
    (read,) = [span for span in spans if span["name"] == "secretsmanager.get_secret_value"]
    assert (read["resource"], read["meta"]["secret_id"], read["error"]) == ("tracing/token", "tracing/token", 0)
    assert all(span["error"] == 0 for span in spans if span["name"] == "exporter.metric")  # the token worked
    assert TOKEN not in json.dumps(spans)
    assert TOKEN not in exporter.output


def test_a_failed_secrets_manager_read_is_an_error_span_with_the_exception_type(
    apm_agent: ApmTestAgent, moto_server: str
) -> None:
    session = apm_agent.start_session()
    env = traced_env(apm_agent, session, EXPORTER_GITHUB_TOKEN_SECRET_ID="no/such/secret", **aws_env(moto_server))
    finished = subprocess.run(
        [sys.executable, "-m", "exporter", "report"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert finished.returncode == 2, finished.stderr
    spans = apm_agent.wait_for_spans(
        session, lambda spans: any(s["name"] == "secretsmanager.get_secret_value" for s in spans)
    )
    (read,) = [span for span in spans if span["name"] == "secretsmanager.get_secret_value"]
    assert read["error"] == 1
    assert read["meta"]["error.type"].endswith("ResourceNotFoundException")


def test_with_tracing_off_the_exporter_never_connects_to_the_agent_address(fake: FakeGitHub) -> None:
    with socket.create_server(("127.0.0.1", 0)) as agent:
        host, port = agent.getsockname()[:2]
        env = clean_env(
            DD_TRACE_ENABLED="false",
            DD_TRACE_AGENT_URL=f"http://{host}:{port}",
            DD_AGENT_HOST=host,
            DD_TRACE_AGENT_PORT=str(port),
            GITHUB_TOKEN=TOKEN,
            EXPORTER_GITHUB_API_URL=fake.url,
            EXPORTER_REPOS=HEALTHY,
            EXPORTER_SCRAPE_WAIT_SECONDS="60",
        )
        with running_exporter(env) as exporter:
            assert "ci_tests_passing_on_main{" in httpx.get(f"{exporter.url}/metrics", timeout=90).text
        agent.setblocking(False)  # the exporter has exited: any connection it made waits in the backlog
        try:
            connection, peer = agent.accept()
        except BlockingIOError:
            return
        connection.close()
        pytest.fail(f"tracing is off, yet {peer} connected to the agent address")


def run_program(mode: str, env: dict[str, str]) -> dict[str, object]:
    finished = subprocess.run(
        [sys.executable, "-m", "tests.tracing.program", mode],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    answer: dict[str, object] = json.loads(finished.stdout.splitlines()[-1])
    return answer


def test_with_tracing_off_ddtrace_is_never_imported_and_no_thread_is_started() -> None:
    seen = run_program("off", clean_env())
    assert seen["enabled"] is False
    assert seen["refreshed_series"] == len(SHIPPED_KEYS)
    assert seen["ddtrace_modules"] == []
    assert seen["threads_started_by_init"] == []


def test_the_decorator_traces_sync_and_async_calls_keeping_results_and_marking_exceptions(
    apm_agent: ApmTestAgent,
) -> None:
    session = apm_agent.start_session()
    seen = run_program("decorated", traced_env(apm_agent, session))
    assert seen == {
        "enabled": True,
        "outer": 7,
        "plain": "plain",
        "async": 8,
        "fails": "ValueError",
        "async_fails": "KeyError",
    }
    spans = apm_agent.wait_for_spans(session, lambda spans: len(spans) >= 7)
    by_name: dict[str, list[Span]] = {}
    for span in spans:
        by_name.setdefault(span["name"], []).append(span)
    (outer,) = by_name["work.outer"]
    (async_outer,) = by_name["work.async"]
    inner_parents = sorted(span["parent_id"] for span in by_name["work.inner"])
    assert inner_parents == sorted([outer["span_id"], async_outer["span_id"]])
    assert by_name["__main__.plain"][0]["error"] == 0
    (fails,) = by_name["work.fails"]
    (async_fails,) = by_name["work.async_fails"]
    assert (fails["error"], fails["meta"]["error.type"], fails["meta"]["error.message"]) == (
        1,
        "builtins.ValueError",
        "boom",
    )
    assert (async_fails["error"], async_fails["meta"]["error.type"]) == (1, "builtins.KeyError")


def test_the_untraced_decorator_returns_results_and_raises_exceptions_unchanged() -> None:
    assert not tracing.enabled()

    @trace(name="t.double")
    def double(x: int) -> int:
        return 2 * x

    @trace(name="t.fail")
    async def fail() -> None:
        raise LookupError("nope")

    assert double(21) == 42
    with pytest.raises(LookupError, match="nope"):
        asyncio.run(fail())


def test_the_decorator_keeps_name_docstring_signature_and_coroutine_nature() -> None:
    async def fetch(repo: str, *, page: int = 1) -> list[str]:
        """Fetch one page."""
        return [repo] * page

    traced = trace(name="t.fetch")(fetch)
    assert (traced.__name__, traced.__doc__, traced.__wrapped__) == ("fetch", "Fetch one page.", fetch)  # type: ignore[attr-defined]
    assert inspect.signature(traced) == inspect.signature(fetch)
    assert inspect.iscoroutinefunction(traced)
    assert asyncio.run(traced("octo/app", page=2)) == ["octo/app", "octo/app"]


def test_the_decorator_refuses_generators_it_could_not_time() -> None:
    def pages() -> Iterator[int]:
        yield 1

    with pytest.raises(TypeError, match="generator"):
        trace(name="t.pages")(pages)


def test_the_agent_url_wins_over_host_and_port_and_defaults_are_left_to_ddtrace() -> None:
    url = Settings.from_env({"DD_TRACE_AGENT_URL": "http://agent:1", "DD_AGENT_HOST": "h", "DD_TRACE_AGENT_PORT": "2"})
    assert agent_url(url) == "http://agent:1"
    assert agent_url(Settings.from_env({"DD_AGENT_HOST": "10.0.0.7"})) == "http://10.0.0.7:8126"
    assert agent_url(Settings.from_env({"DD_TRACE_AGENT_PORT": "9126"})) == "http://localhost:9126"
    assert agent_url(Settings.from_env({"DD_AGENT_HOST": "fd00::7"})) == "http://[fd00::7]:8126"
    assert agent_url(Settings.from_env({})) is None
