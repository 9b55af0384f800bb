"""Fixtures: the Datadog APM test agent and real exporter processes, on loopback."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.processes import exporter_env, free_port, stop

ROOT = Path(__file__).resolve().parents[2]
APM_TEST_AGENT = ROOT / ".venv-apm" / "bin" / "ddapm-test-agent"
SERVICE, ENV, VERSION = "exporter-under-test", "tracing-test", "1.2.3-test"

Span = dict[str, Any]


class ApmTestAgent:
    """ddapm-test-agent: imitates the Datadog agent's trace intake and keeps what each session sent."""

    def __init__(self, url: str) -> None:
        self.url = url

    def start_session(self) -> str:
        """A fresh test session token (the tracer sends it with DD_TRACE_TEST_SESSION_TOKEN)."""
        token = uuid.uuid4().hex
        response = httpx.get(f"{self.url}/test/session/start", params={"test_session_token": token}, timeout=10)
        response.raise_for_status()
        return token

    def spans(self, token: str) -> list[Span]:
        """Every span the session received so far, all traces flattened."""
        response = httpx.get(f"{self.url}/test/session/traces", params={"test_session_token": token}, timeout=10)
        response.raise_for_status()
        return [span for trace in response.json() for span in trace]

    def wait_for_spans(self, token: str, ready: Callable[[list[Span]], bool], timeout: float = 20.0) -> list[Span]:
        """Poll the session until `ready(spans)` holds (the tracer flushes on its own schedule)."""
        deadline = time.monotonic() + timeout
        while True:
            spans = self.spans(token)
            if ready(spans):
                return spans
            if time.monotonic() > deadline:
                names = sorted({span["name"] for span in spans})
                raise AssertionError(f"the test agent did not get the expected spans in {timeout}s; got {names}")
            time.sleep(0.1)  # polling another process, bounded by the deadline above


@pytest.fixture(scope="session")
def apm_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApmTestAgent]:
    """The test agent on loopback ports, stopped at the end of the session."""
    if not APM_TEST_AGENT.exists():
        pytest.fail(f"{APM_TEST_AGENT} is missing: run scripts/setup/apm-test-agent.sh (make test does)")
    workdir = tmp_path_factory.mktemp("apm-agent")
    port, otlp_http, otlp_grpc, web_ui = (free_port() for _ in range(4))
    command = [str(APM_TEST_AGENT), "--host", "127.0.0.1", "--port", str(port), "--otlp-http-port", str(otlp_http)]
    command += ["--otlp-grpc-port", str(otlp_grpc), "--web-ui-port", str(web_ui)]
    with (workdir / "agent.log").open("w") as log:
        process = subprocess.Popen(command, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    agent = ApmTestAgent(f"http://127.0.0.1:{port}")
    try:
        _wait_until_answering(f"{agent.url}/info", process, workdir / "agent.log")
        yield agent
    finally:
        stop(process, timeout=15)


@dataclass
class ExporterProcess:
    """A running `python -m exporter serve`; `output` holds its stderr and stdout once it stopped."""

    url: str
    output: str = field(default="")


@contextlib.contextmanager
def running_exporter(env: Mapping[str, str], timeout: float = 30.0) -> Iterator[ExporterProcess]:
    """Run the exporter on a free port until the block ends (then SIGTERM: ddtrace flushes on exit)."""
    port = free_port()
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "exporter", "serve", "--port", str(port)],
            cwd=ROOT,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        running = ExporterProcess(f"http://127.0.0.1:{port}")
        try:
            _wait_until_answering(f"{running.url}/healthz", process, None, timeout)
            yield running
        finally:
            stop(process, timeout=15)
            log.seek(0)
            running.output = log.read()


def traced_env(agent: ApmTestAgent, session: str, **env: str) -> dict[str, str]:
    """An exporter environment with tracing on, sending to the test agent's session."""
    return clean_env(
        DD_TRACE_ENABLED="true",
        DD_SERVICE=SERVICE,
        DD_ENV=ENV,
        DD_VERSION=VERSION,
        DD_TRACE_AGENT_URL=agent.url,
        DD_TRACE_TEST_SESSION_TOKEN=session,
        DD_INSTRUMENTATION_TELEMETRY_ENABLED="false",
        DD_REMOTE_CONFIGURATION_ENABLED="false",
        **env,
    )


def clean_env(**env: str) -> dict[str, str]:
    """This process's environment without exporter, DD_ or AWS_ variables, plus `env`."""
    clean = {key: value for key, value in exporter_env().items() if not key.startswith("AWS_")}
    clean.update(env)
    return clean


def _wait_until_answering(url: str, process: subprocess.Popen[Any], log: Path | None, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            shown = log.read_text() if log else ""
            raise AssertionError(f"{process.args!r} exited with {process.returncode}\n{shown}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} did not answer in {timeout}s")
        time.sleep(0.05)  # polling a child process's start, bounded by the deadline above
