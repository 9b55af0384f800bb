"""SIGTERM to a real `exporter serve` process: in-flight answers, refused connections, exit 0."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from exporter.demo import FakeGitHub, Fault
from tests.conftest import commit, repo, run
from tests.processes import exporter_env, serving_process

GITHUB_TIMEOUT_SECONDS = 2
GRACE_SECONDS = 5  # uvicorn's timeout_graceful_shutdown in exporter/cli.py
# The bound the README states (grace + one GitHub request in flight, retries off here), plus a margin
# for a loaded machine.
EXIT_BOUND_SECONDS = GRACE_SECONDS + GITHUB_TIMEOUT_SECONDS + 3


def wait_for(condition: str, check: Callable[[], bool], process: subprocess.Popen[str], timeout: float = 30.0) -> None:
    """Poll `check()` every 10 ms until it is true, failing after `timeout` or if the process exited."""
    deadline = time.monotonic() + timeout
    while not check():
        assert process.poll() is None, f"the exporter exited with {process.returncode} before {condition}"
        assert time.monotonic() < deadline, f"no {condition} within {timeout:.0f}s"
        time.sleep(0.01)  # polling a child process, bounded by the deadline above


def exit_code(process: subprocess.Popen[str], timeout: float) -> tuple[int | None, str]:
    """The exit code within `timeout` (None if still running) and everything the process printed."""
    try:
        code: int | None = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        code = None
        process.kill()
        process.wait(timeout=10)
    output = process.stdout.read() if process.stdout else ""
    return code, output


def test_sigterm_during_a_refresh_answers_the_waiting_client_refuses_new_connections_and_exits_zero(
    fake: FakeGitHub,
) -> None:
    for name in ("octo/a", "octo/b", "octo/c"):
        fake.add_repo(repo(name, runs=[run(1)], commits=[commit(1, "hotfix")]))
    fake.inject(Fault(kind="hang"))  # GitHub never answers: each request ends at the exporter's timeout
    env = exporter_env(
        EXPORTER_GITHUB_API_URL=fake.url,
        GITHUB_TOKEN="t",
        EXPORTER_REPOS="octo/a,octo/b,octo/c",
        EXPORTER_GITHUB_CONCURRENCY="1",  # octo/b and octo/c wait for octo/a
        EXPORTER_GITHUB_TIMEOUT_SECONDS=str(GITHUB_TIMEOUT_SECONDS),
        EXPORTER_GITHUB_RETRIES="0",
    )
    with serving_process([], env) as (url, process), ThreadPoolExecutor(max_workers=1) as pool:
        waiting = pool.submit(httpx.post, f"{url}/refresh", timeout=30)
        wait_for("request held by the fake GitHub", lambda: fake.hanging >= 1, process)
        assert not waiting.done()  # the /refresh client is waiting on the running refresh
        process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()

        answer = waiting.result(timeout=30)
        answered_after = time.monotonic() - signalled
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{url}/healthz", timeout=5)
        code, output = exit_code(process, timeout=EXIT_BOUND_SECONDS)
        exited_after = time.monotonic() - signalled

    assert (answer.status_code, answer.json()) == (503, {"error": "the exporter is shutting down"})
    assert answered_after < GRACE_SECONDS
    assert code == 0, output
    assert exited_after < EXIT_BOUND_SECONDS
    assert "collector stopped" in output
    assert "Traceback" not in output, output
    # The refresh stopped: the one request in flight at SIGTERM was its last (the fake holds every request
    # it got, so octo/a's next dataset or octo/b's first request would show here).
    assert (fake.hanging, len(fake.requests)) == (1, 0)


def test_sigterm_with_no_refresh_running_exits_zero_at_once_with_no_traceback(fake: FakeGitHub) -> None:
    fake.add_repo(repo(runs=[run(1)]))
    env = exporter_env(EXPORTER_GITHUB_API_URL=fake.url, GITHUB_TOKEN="t", EXPORTER_REPOS="octo/app")
    with serving_process([], env) as (url, process):
        assert httpx.get(f"{url}/metrics", timeout=30).status_code == 200
        process.send_signal(signal.SIGTERM)
        code, output = exit_code(process, timeout=EXIT_BOUND_SECONDS)
    assert code == 0, output
    assert "collector stopped" in output
    assert "Traceback" not in output, output
