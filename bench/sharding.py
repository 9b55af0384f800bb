"""`python -m bench.sharding [--repos N] [--shards K]`: one refresh of N repositories, by one exporter and by K shards.

Real `exporter serve` processes (the same 1,000 names in EXPORTER_REPOS, EXPORTER_SHARDS=K and
their own EXPORTER_SHARD_INDEX) against one fake GitHub running here, which counts every request
and so tells, by the repository in its path, which shard asked. Each process is refreshed once,
cold, through `POST /refresh`; its answer gives the refresh's seconds, /proc its resident memory.
First one unsharded exporter, then the K shards one at a time (each alone on the machine), then
the K shards at once, as they run in production (here they share 2 cores with the fake).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import platform
import subprocess
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from bench.common import TOKEN, make_repo, now, repo_names, running
from exporter.demo import FakeGitHub
from exporter.sharding import owned, owner_of
from tests.processes import clean_env, rss_kib, serving_process

COMMITS, RUNS = 60, 20  # per repository, as bench.growth: one page of commits, a short runs page
REFRESH_TIMEOUT_SECONDS = 900.0


@dataclass(frozen=True)
class Refreshed:
    """One exporter's cold refresh."""

    label: str
    repos: int
    requests: int
    seconds: float
    rss_mib: float
    failed: int


@contextlib.contextmanager
def exporters(
    fake: FakeGitHub, names: Sequence[str], shards: Sequence[tuple[int, int]]
) -> Iterator[list[tuple[int, int, str, subprocess.Popen[str]]]]:
    """Serve one exporter per (index, count), every one stopped on the way out."""
    with contextlib.ExitStack() as stack:
        started = []
        for index, count in shards:
            env = clean_env(
                EXPORTER_GITHUB_API_URL=fake.url,
                GITHUB_TOKEN=TOKEN,
                EXPORTER_REPOS=",".join(names),
                EXPORTER_SHARDS=str(count),
                EXPORTER_SHARD_INDEX=str(index),
                EXPORTER_LOG_LEVEL="WARNING",
                EXPORTER_REFRESH_DEADLINE_SECONDS="600",
                EXPORTER_REFRESH_MIN_INTERVAL_SECONDS="0",
                EXPORTER_GITHUB_RETRIES="0",
            )
            url, process = stack.enter_context(serving_process(["--host", "127.0.0.1"], env, timeout=60))
            started.append((index, count, url, process))
        yield started


def refresh(url: str) -> tuple[float, int, int]:
    """POST /refresh and wait for it: (seconds, repositories refreshed, series failed)."""
    answer = httpx.post(f"{url}/refresh", timeout=REFRESH_TIMEOUT_SECONDS)
    answer.raise_for_status()
    body = answer.json()
    return float(body["seconds"]), len(body["repositories"]), int(body["failed"])


def requests_by_shard(fake: FakeGitHub, shards: int) -> Counter[int]:
    """How many requests the fake answered for each shard's repositories."""
    counts: Counter[int] = Counter()
    for request in fake.requests:
        parts = request.path.split("/")
        if len(parts) > 3 and parts[1] == "repos":
            counts[owner_of(f"{parts[2]}/{parts[3]}", shards)] += 1
    return counts


def measure(fake: FakeGitHub, names: Sequence[str], shards: int, together: bool) -> tuple[list[Refreshed], float]:
    """Refresh every shard of `shards` once, cold: all at once when `together`, else one after another;
    with the seconds from the first POST /refresh to the last answer (summed when one at a time)."""
    results: list[Refreshed] = []
    wall = 0.0
    plan = [(index, shards) for index in range(shards)]
    runs = [plan] if together else [[one] for one in plan]
    for run in runs:
        with exporters(fake, names, run) as started:
            fake.clear_requests()
            begin = time.monotonic()
            with ThreadPoolExecutor(max_workers=len(started)) as pool:
                outcomes = list(pool.map(lambda s: refresh(s[2]), started))
            wall += time.monotonic() - begin
            counts = requests_by_shard(fake, shards)
            for (index, count, _, process), (seconds, repos, failed) in zip(started, outcomes, strict=True):
                label = "unsharded" if count == 1 else f"shard {index} of {count}"
                rss = rss_kib(process.pid)[0] / 1024
                results.append(Refreshed(label, repos, counts[index], seconds, rss, failed))
    return results, wall


def table(title: str, rows: list[Refreshed], wall: float) -> str:
    lines = [
        f"{title}: {wall:.1f} s from the first POST /refresh to the last answer",
        "| exporter | repositories | GETs | refresh s | RSS MiB | failed series |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row.label} | {row.repos:,} | {row.requests:,} | {row.seconds:.2f} | {row.rss_mib:.1f} | {row.failed} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sharding", description=__doc__)
    parser.add_argument("--repos", type=int, default=1000)
    parser.add_argument("--shards", type=int, default=4)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    names = repo_names(args.repos)
    split = [len(owned(names, index, args.shards)) for index in range(args.shards)]
    moved = sum(1 for name in names if owner_of(name, args.shards - 1) != owner_of(name, args.shards))
    started = time.monotonic()
    moment = now()
    print(
        f"python -m bench.sharding --repos {args.repos} --shards {args.shards}: {os.cpu_count()} cores "
        f"({platform.machine()}), Python {platform.python_version()}; fake: {COMMITS} commits, {RUNS} runs a repo"
    )
    print(f"split: {split}; {args.shards - 1} -> {args.shards} shards moves {moved} of {args.repos}")
    fake = FakeGitHub(repos=[make_repo(name, moment, COMMITS, RUNS) for name in names], rate_limit=10**9)
    with running(fake):
        for title, shards, together in (
            ("one exporter, all repositories", 1, True),
            (f"{args.shards} shards, one at a time", args.shards, False),
            (f"{args.shards} shards at once", args.shards, True),
        ):
            rows, wall = measure(fake, names, shards, together)
            print()
            print(table(title, rows, wall))
    print(f"\ntook {time.monotonic() - started:.0f}s")


if __name__ == "__main__":
    main()
