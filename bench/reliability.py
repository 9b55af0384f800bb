"""Reliability figures of issue 5: latency of 200 concurrent scrapes during a slow refresh, and
resident memory over 10,000 scrapes in a row. All traffic stays on 127.0.0.1; every loop is bounded.

    .venv/bin/python -m bench.reliability [--scrapes 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx

from exporter.demo import demo_github
from tests.processes import child, clean_env, free_port, rss_kib, wait_until_served


@contextlib.contextmanager
def _exporter(api_url: str, **env: str) -> Iterator[tuple[str, int]]:
    """A real `serve` process watching the demo repository on `api_url`; yields (URL, pid)."""
    port = free_port()
    environment = clean_env(
        EXPORTER_GITHUB_API_URL=api_url, GITHUB_TOKEN="bench", EXPORTER_REPOS="Metta-AI/metta", **env
    )
    with child(["-m", "exporter", "serve", "--port", str(port)], environment) as process:
        url = f"http://127.0.0.1:{port}"
        wait_until_served(f"{url}/healthz", process)
        yield url, process.pid


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
            samples = [(0, rss_kib(pid)[0])]
            for n in range(1, scrapes + 1):
                assert client.get(f"{url}/metrics").status_code == 200
                if n % 1000 == 0:
                    samples.append((n, rss_kib(pid)[0]))
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
