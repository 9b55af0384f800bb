"""Real exporter processes on loopback, always stopped by the test that starts them."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping

import httpx

from bench.processes import clean_env, free_port, stop


def exporter_env(**env: str) -> dict[str, str]:
    """The process environment with none of our variables set, plus `env`."""
    return clean_env(**env)


@contextlib.contextmanager
def serving(args: list[str], env: Mapping[str, str], timeout: float = 30.0) -> Iterator[str]:
    """Run `python -m exporter serve ARGS --port P`, wait until /healthz answers, yield the base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "exporter", "serve", "--port", str(port), *args],
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                output = process.stdout.read() if process.stdout else ""
                raise AssertionError(f"exporter exited with {process.returncode}:\n{output}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("exporter did not answer /healthz in time")
            time.sleep(0.05)  # polling a child process's start, bounded by the deadline above
        yield url
    finally:
        stop(process)
