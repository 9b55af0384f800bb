"""Real child processes on loopback (exporters, fakes, benchmarks): started, waited for with a deadline,
always stopped. Tests and `bench/` share these; `bench/` imports them, never the reverse."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import later_metrics


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**env: str) -> dict[str, str]:
    """The environment without our variables, plus `env`."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("EXPORTER_", "GITHUB_TOKEN", "DD_"))}
    kept.update(env)
    return kept


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in KiB, from /proc/PID/status."""
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0])
    return values["VmRSS"], values["VmHWM"]


@contextlib.contextmanager
def child(args: Sequence[str], env: Mapping[str, str]) -> Iterator[subprocess.Popen[str]]:
    """`python ARGS` in a child process, terminated (then killed) on the way out."""
    process = subprocess.Popen(
        [sys.executable, *args],
        env=dict(env),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen[Any], timeout: float = 10.0) -> None:
    """Terminate, kill after `timeout` seconds, every wait bounded; then close its pipes."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


def wait_until_served(
    url: str, process: subprocess.Popen[str], timeout: float = 60.0, must_contain: str | None = None
) -> float:
    """Poll `url` every 5 ms until it answers 200 (containing `must_contain`); return seconds waited."""
    start = time.monotonic()
    with httpx.Client(timeout=5.0) as client:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{url}: the process exited with {process.returncode}")
            with contextlib.suppress(httpx.TransportError):
                response = client.get(url)
                if response.status_code == 200 and (must_contain is None or must_contain in response.text):
                    return time.monotonic() - start
            if time.monotonic() - start > timeout:
                raise RuntimeError(f"{url} was not served within {timeout:.0f}s")
            time.sleep(0.005)


def exporter_env(**env: str) -> dict[str, str]:
    """The process environment with none of our variables set, plus `env`; the metrics added after the
    original three are off unless `env` sets EXPORTER_METRICS_DISABLED (see ORIGINAL_METRICS in tests/conftest.py)."""
    return clean_env(**({"EXPORTER_METRICS_DISABLED": later_metrics()} | env))


@contextlib.contextmanager
def serving(args: list[str], env: Mapping[str, str], timeout: float = 30.0) -> Iterator[str]:
    """Run `python -m exporter serve ARGS --port P`, wait until /healthz answers, yield the base URL."""
    with serving_process(args, env, timeout) as (url, _):
        yield url


@contextlib.contextmanager
def serving_process(
    args: list[str], env: Mapping[str, str], timeout: float = 30.0
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """As `serving`, yielding the process too (its stdout carries stdout and stderr, read it once it exited)."""
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
        yield url, process
    finally:
        stop(process)


@dataclass(frozen=True)
class Finished:
    """A child process that ran to its end: exit code, output, peak resident memory and wall time."""

    returncode: int
    stdout: str
    stderr: str
    peak_rss_kib: int
    seconds: float


# Runs a module as `python -m` would and writes its own VmHWM at exit. Not wait4's ru_maxrss: Linux
# carries the parent's high-water mark into a child across exec, so a big test runner would show.
_PEAK_RECORDER = """
import atexit, runpy, sys
path, module = sys.argv[1], sys.argv[2]
def record():
    with open("/proc/self/status") as status, open(path, "w") as out:
        out.write(next(line for line in status if line.startswith("VmHWM:")).split()[1])
atexit.register(record)
sys.argv = [module, *sys.argv[3:]]
runpy.run_module(module, run_name="__main__", alter_sys=True)
"""


def run_measured(module: str, args: Sequence[str], env: Mapping[str, str], timeout: float = 120.0) -> Finished:
    """`python -m MODULE ARGS` to its end (killed past `timeout`), with its peak RSS (VmHWM at exit)."""
    with tempfile.TemporaryDirectory() as scratch:
        peak = os.path.join(scratch, "peak")
        out, err = os.path.join(scratch, "out"), os.path.join(scratch, "err")
        start = time.monotonic()
        with open(out, "w") as stdout, open(err, "w") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-c", _PEAK_RECORDER, peak, module, *args],
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
            )
            try:
                process.wait(timeout=timeout)
            finally:
                stop(process)
        seconds = time.monotonic() - start
        kib = int(Path(peak).read_text()) if os.path.exists(peak) else -1  # -1: killed before it could say
        with open(out) as stdout, open(err) as stderr:
            return Finished(process.returncode, stdout.read(), stderr.read(), kib, seconds)
