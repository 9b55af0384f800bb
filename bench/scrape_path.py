"""Issue 9 §6: /metrics of a warm cache beside a plain prometheus_client exporter, in one run.

`python -m bench.scrape_path [--seconds 8] [--rounds 2]` starts `python -m exporter serve --demo`,
the plain `start_http_server` exporter (bench/plain_exporter.py) serving the same samples, and a
trivial async FastAPI handler serving the same bytes (bench/trivial_handler.py), as real processes;
warms each, then runs wrk (2 threads, 50 connections, `--latency`) against each in turn, `--rounds`
times, and prints req/s, p50 and p99 with the ratio to the plain exporter of the same round.
The machine's load average is printed before and after: other work on the cores shows in the figures.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile

import httpx

from bench.scrape import CLIENTS, Load, load_wrk
from tests.processes import child, clean_env, free_port, wait_until_served

WARM_SECONDS = 2


def _load_average() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def _row(name: str, load: Load, plain: Load | None) -> str:
    ratio = f"{load.requests_per_second / plain.requests_per_second:.2f}x" if plain else ""
    return (
        f"| {name} | {load.requests_per_second:,.0f} | {load.p50_ms:.1f} ms | {load.p99_ms:.1f} ms "
        f"| {load.errors} | {ratio} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scrape_path", description=__doc__)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print(
        f"{os.cpu_count()} cores ({platform.machine()}), Python {platform.python_version()}; load before: "
        f"{_load_average()}"
    )
    port = free_port()
    ours_url = f"http://127.0.0.1:{port}/metrics"
    env = clean_env(EXPORTER_CACHE_TTL_SECONDS="3600", EXPORTER_LOG_LEVEL="WARNING")
    with child(["-m", "exporter", "serve", "--demo", "--port", str(port)], env) as ours:
        wait_until_served(ours_url, ours, must_contain="ci_tests_passing_on_main{")  # the cache is warm
        exposition = httpx.get(ours_url, timeout=10).content
        samples = sum(1 for line in exposition.splitlines() if line and not line.startswith(b"#"))
        with tempfile.NamedTemporaryFile("wb", suffix=".prom") as saved:
            saved.write(exposition)
            saved.flush()
            plain_port, trivial_port = free_port(), free_port()
            plain_env = clean_env(PROMETHEUS_DISABLE_CREATED_SERIES="True")
            with (
                child(["-m", "bench.plain_exporter", saved.name, str(plain_port)], plain_env) as plain,
                child(["-m", "bench.trivial_handler", saved.name, str(trivial_port)], clean_env()) as trivial,
            ):
                urls = {
                    "exporter /metrics": ours_url,
                    "plain start_http_server": f"http://127.0.0.1:{plain_port}/metrics",
                    "trivial FastAPI handler": f"http://127.0.0.1:{trivial_port}/metrics",
                }
                wait_until_served(urls["plain start_http_server"], plain)
                wait_until_served(urls["trivial FastAPI handler"], trivial)
                for url in urls.values():
                    load_wrk(url, WARM_SECONDS)
                print(f"wrk -t2 -c{CLIENTS} -d{args.seconds}s --latency; {samples} samples, {len(exposition):,} bytes")
                print("| round: server | req/s | p50 | p99 | errors | ratio to plain |")
                print("|---|---|---|---|---|---|")
                for round_ in range(1, args.rounds + 1):
                    loads = {name: load_wrk(url, args.seconds) for name, url in urls.items()}
                    plain_load = loads["plain start_http_server"]
                    for name, load in loads.items():
                        print(_row(f"{round_}: {name}", load, plain_load), flush=True)
    print(f"load after: {_load_average()}")


if __name__ == "__main__":
    main()
