"""Reliability figures of issue 5: latency of 200 concurrent scrapes during a slow refresh, and
resident memory over 10,000 scrapes in a row. All traffic stays on 127.0.0.1; every loop is bounded.

    .venv/bin/python -m bench.reliability [--scrapes 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx

from exporter.fakegithub import demo_github


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


@contextlib.contextmanager
def _exporter(api_url: str, **env: str) -> Iterator[tuple[str, int]]:
    port = _free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("EXPORTER_", "DD_", "GITHUB_TOKEN"))}
    environment.update(EXPORTER_GITHUB_API_URL=api_url, GITHUB_TOKEN="bench", EXPORTER_REPOS="Metta-AI/metta", **env)
    process = subprocess.Popen(
        [sys.executable, "-m", "exporter", "serve", "--port", str(port)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            time.sleep(0.05)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


async def _concurrent(url: str, clients: int) -> list[tuple[int, float]]:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def one() -> tuple[int, float]:
            start = time.perf_counter()
            response = await client.get(f"{url}/metrics")
            return response.status_code, time.perf_counter() - start

        return await asyncio.gather(*(one() for _ in range(clients)))


def slow_refresh_load(scrape_wait: float = 5.0, latency: float = 3.0, clients: int = 200) -> None:
    """200 clients at once on a cold exporter whose GitHub answers each request after `latency` s."""
    fake = demo_github(datetime.now(UTC))
    fake.latency_seconds = latency
    fake.start()
    try:
        with _exporter(fake.url, EXPORTER_SCRAPE_WAIT_SECONDS=str(scrape_wait)) as (url, _pid):
            results = asyncio.run(_concurrent(url, clients))
            runs_requests = fake.count("/runs")
    finally:
        fake.stop()
    times = sorted(seconds for _, seconds in results)
    statuses = {status for status, _ in results}
    print(f"{clients} concurrent /metrics during a {3 * latency:.0f}s refresh (scrape wait {scrape_wait}s):")
    print(
        f"  statuses {statuses}; latency p50 {times[len(times) // 2]:.3f}s, max {times[-1]:.3f}s; "
        f"refreshes upstream (runs listings): {runs_requests}"
    )


def memory_over_scrapes(scrapes: int) -> None:
    """Resident memory of a real exporter process every 1,000 scrapes, cache warm."""
    fake = demo_github(datetime.now(UTC))
    fake.start()
    try:
        with _exporter(fake.url) as (url, pid), httpx.Client(timeout=30) as client:
            client.get(f"{url}/metrics")
            samples = [(0, _rss_kib(pid))]
            for n in range(1, scrapes + 1):
                assert client.get(f"{url}/metrics").status_code == 200
                if n % 1000 == 0:
                    samples.append((n, _rss_kib(pid)))
    finally:
        fake.stop()
    print(f"resident memory over {scrapes} scrapes (KiB): " + ", ".join(f"{n}: {kib}" for n, kib in samples))
    print(f"  growth from 1,000 to {scrapes}: {samples[-1][1] - samples[1][1]} KiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scrapes", type=int, default=10_000)
    args = parser.parse_args()
    slow_refresh_load()
    memory_over_scrapes(max(1000, min(args.scrapes, 100_000)))


if __name__ == "__main__":
    main()
