"""Goals 4 and 5: /metrics under 50 concurrent clients beside a plain prometheus_client exporter;
resident memory after start and after 10,000 scrapes; time from start to the first served scrape."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass

import httpx

from bench.common import TOKEN, Report, make_repo, median, now, percentile, repo_names, running
from exporter.demo import FakeGitHub
from tests.processes import child, clean_env, free_port, rss_kib, wait_until_served

CLIENTS = 50
SCRAPES = 10_000
OLD_JOB_MEMORY_KIB = 2 * 1024 * 1024  # the old job's memory request: 2 GiB


@dataclass(frozen=True)
class Load:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    tool: str


def _wrk_ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip()).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def load_wrk(url: str, seconds: int) -> Load:
    """wrk with CLIENTS connections on two threads for `seconds`."""
    out = subprocess.run(
        ["wrk", "-t2", f"-c{CLIENTS}", f"-d{seconds}s", "--timeout", "5s", "--latency", url],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _wrk_ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _wrk_ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    count = int(errors.group(1)) if errors else 0
    count += sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    return Load(rps, p50, p99, count, "wrk")


async def _load_httpx(url: str, total: int, seconds: float) -> Load:
    """CLIENTS workers sharing `total` requests, stopping after `seconds` at the latest."""
    times: list[float] = []
    errors = 0
    remaining = total
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal remaining, errors
        while remaining > 0 and time.monotonic() < deadline:
            remaining -= 1
            start = time.perf_counter()
            try:
                response = await client.get(url)
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            times.append(time.perf_counter() - start)
            errors += 0 if ok else 1

    start = time.monotonic()
    async with httpx.AsyncClient(timeout=5.0, limits=limits) as client:
        await asyncio.gather(*(worker(client) for _ in range(CLIENTS)))
    elapsed = time.monotonic() - start
    ms = [t * 1000 for t in times]
    return Load(len(times) / elapsed, percentile(ms, 50), percentile(ms, 99), errors, "httpx")


async def _load_paced(url: str, interval: float, seconds: float) -> Load:
    """CLIENTS clients each scraping once every `interval` seconds (as agents do), for `seconds`."""
    times: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds

    async def client_loop(client: httpx.AsyncClient, offset: float) -> None:
        nonlocal errors
        await asyncio.sleep(offset)
        while time.monotonic() < deadline:
            tick = time.monotonic()
            start = time.perf_counter()
            try:
                ok = (await client.get(url)).status_code == 200
            except httpx.HTTPError:
                ok = False
            times.append(time.perf_counter() - start)
            errors += 0 if ok else 1
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - tick)))

    async with httpx.AsyncClient(timeout=5.0) as client:
        await asyncio.gather(*(client_loop(client, interval * n / CLIENTS) for n in range(CLIENTS)))
    ms = [t * 1000 for t in times]
    return Load(len(times) / seconds, percentile(ms, 50), percentile(ms, 99), errors, "httpx paced")


def paced(url: str, seconds: int, interval: float = 0.5) -> Load:
    return asyncio.run(_load_paced(url, interval, seconds))


def load(url: str, seconds: int) -> Load:
    if shutil.which("wrk"):
        return load_wrk(url, seconds)
    return asyncio.run(_load_httpx(url, 1_000_000, seconds))


def scrape_many(url: str, count: int) -> Load:
    """Exactly `count` scrapes (bounded to 5 minutes) from CLIENTS concurrent clients."""
    return asyncio.run(_load_httpx(url, count, 300.0))


def run(report: Report, quick: bool) -> None:
    seconds = 3 if quick else 10
    names = repo_names(10)
    moment = now()
    with running(FakeGitHub(repos=[make_repo(name, moment, 90) for name in names])) as fake:
        env = clean_env(
            EXPORTER_GITHUB_API_URL=fake.url,
            GITHUB_TOKEN=TOKEN,
            EXPORTER_REPOS=",".join(names),
            EXPORTER_CACHE_TTL_SECONDS="3600",
            EXPORTER_LOG_LEVEL="WARNING",
        )
        port = free_port()
        url = f"http://127.0.0.1:{port}/metrics"
        with child(["-m", "exporter", "serve", "--port", str(port)], env) as ours:
            wait_until_served(f"http://127.0.0.1:{port}/healthz", ours)
            started_kib, _ = rss_kib(ours.pid)
            exposition = httpx.get(url, timeout=60).text  # the first scrape refreshes: the cache is warm after it
            series = sum(1 for line in exposition.splitlines() if line and not line.startswith("#"))
            warm_kib, _ = rss_kib(ours.pid)
            count = 2_000 if quick else SCRAPES
            many = scrape_many(url, count)
            after_kib, peak_kib = rss_kib(ours.pid)
            ours_load = load(url, seconds)
            ours_paced = paced(url, seconds)
            loaded_kib, _ = rss_kib(ours.pid)
            with tempfile.NamedTemporaryFile("w", suffix=".prom") as saved:
                saved.write(exposition)
                saved.flush()
                plain_port = free_port()
                plain_env = clean_env(PROMETHEUS_DISABLE_CREATED_SERIES="True")
                with child(["-m", "bench.plain_exporter", saved.name, str(plain_port)], plain_env) as plain:
                    plain_url = f"http://127.0.0.1:{plain_port}/metrics"
                    wait_until_served(plain_url, plain)
                    plain_kib, _ = rss_kib(plain.pid)
                    plain_load = load(plain_url, seconds)
                    plain_paced = paced(plain_url, seconds)
                    ours_again = load(url, seconds)
        best = max((ours_load, ours_again), key=lambda x: x.requests_per_second)
    tool = f"{best.tool}, {CLIENTS} connections, {seconds}s, {series} samples"
    report.add(
        "4",
        "/metrics throughput, 10 repos, warm cache",
        round(best.requests_per_second),
        round(plain_load.requests_per_second),
        "start_http_server",
        " req/s",
        f"{tool}; runs: {ours_load.requests_per_second:.0f}, {ours_again.requests_per_second:.0f}",
    )
    report.add(
        "4",
        "/metrics p99, 50 clients saturating (closed loop)",
        best.p99_ms,
        plain_load.p99_ms,
        "start_http_server",
        " ms",
        f"p50 {best.p50_ms:.1f} ms vs {plain_load.p50_ms:.1f} ms; errors {best.errors}/{plain_load.errors}",
    )
    report.add(
        "4",
        "/metrics p99, 50 clients each scraping every 0.5 s",
        ours_paced.p99_ms,
        plain_paced.p99_ms,
        "start_http_server",
        " ms",
        f"p50 {ours_paced.p50_ms:.1f} ms vs {plain_paced.p50_ms:.1f} ms; {ours_paced.requests_per_second:.0f} req/s; "
        f"errors {ours_paced.errors}/{plain_paced.errors}",
    )
    mib = 1024
    report.add(
        "5",
        "RSS after start (10 repos, before first scrape)",
        round(started_kib / mib, 1),
        round(plain_kib / mib, 1),
        "start_http_server",
        " MiB",
    )
    report.add(
        "5",
        "RSS after the first scrape (cache warm)",
        round(warm_kib / mib, 1),
        OLD_JOB_MEMORY_KIB / mib,
        "old job's request",
        " MiB",
    )
    report.add(
        "5",
        f"RSS after {count:,} more scrapes",
        round(after_kib / mib, 1),
        OLD_JOB_MEMORY_KIB / mib,
        "old job's request",
        " MiB",
        f"peak {peak_kib / mib:.1f} MiB; {many.errors} errors; after wrk too: {loaded_kib / mib:.1f} MiB",
    )
    _start_times(report, quick)


def _start_times(report: Report, quick: bool) -> None:
    """Seconds from spawning `python -m exporter serve --demo` to a /metrics with CI data."""
    samples = []
    for _ in range(1 if quick else 3):
        port = free_port()
        begun = time.monotonic()
        with child(["-m", "exporter", "serve", "--demo", "--port", str(port)], clean_env()) as demo:
            wait_until_served(f"http://127.0.0.1:{port}/metrics", demo, must_contain="ci_tests_passing_on_main{")
            samples.append(time.monotonic() - begun)
    report.add(
        "5",
        "start to first served scrape, --demo",
        median(samples),
        None,
        "",
        " s",
        f"median of {len(samples)}: {', '.join(f'{s:.2f}' for s in samples)}",
    )
