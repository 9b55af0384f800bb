"""`python -m bench.discovery [--repos N]`: what discovering an organisation costs GitHub, and the series bound.

An organisation of N repositories (default 1,000: 50 archived, 50 forks, 20 empty, the rest watched)
on the fake GitHub, discovered as the exporter does (`Discovery` over `RepoLister` over a
`GitHubSource`, on a clock the bench moves past EXPORTER_DISCOVERY_INTERVAL_SECONDS). Each figure is
one discovery: requests the fake saw, points it charged (a 304 is free), wall time. Cold (empty ETag
cache), warm (nothing changed), after a new repository, after a push to one, after archiving one.
Then the series one repository adds: a scrape of the demo repository with every metric on and no
failure, counted by its `repo` label.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from bench.common import TOKEN, add_commit, make_repo, now, running
from exporter.cli import build
from exporter.demo import FakeGitHub, FakeRepo
from exporter.demo.model import REPO_CREATED
from exporter.demo.sample import REPO, demo_repo
from exporter.errors import REASONS
from exporter.github.credentials import TokenProvider
from exporter.github.discovery import Discovery, RepoLister
from exporter.github.source import GitHubSource
from exporter.metrics.registry import default_registry
from exporter.settings import Settings

ORG = "bench-org"
INTERVAL = 3600.0


@dataclass(frozen=True)
class Listing:
    """One discovery: what GitHub saw and charged, and what it found."""

    label: str
    requests: int
    points: int
    not_modified: int
    seconds: float
    watched: int


def organisation(count: int) -> list[FakeRepo]:
    """`count` repositories: 5 % archived, 5 % forks, 2 % empty, every one created a minute after the last."""
    repos = []
    for index in range(count):
        repo = make_repo(f"{ORG}/repo-{index:04d}", now(), commits=2, runs=1)
        repo.created_at = REPO_CREATED + timedelta(minutes=index)
        repo.archived = index % 20 == 1
        repo.fork = index % 20 == 2
        if index % 50 == 3:
            repo.commits = {}
        repos.append(repo)
    return repos


def discover(fake: FakeGitHub, discovery: Discovery, label: str) -> Listing:
    fake.clear_requests()
    points = fake.points_used
    start = time.perf_counter()
    watched = discovery()
    seconds = time.perf_counter() - start
    return Listing(label, len(fake.requests), fake.points_used - points, fake.count(status=304), seconds, len(watched))


def listings(count: int) -> list[Listing]:
    """Cold, warm, and after each kind of change, one interval apart."""
    clock = [0.0]
    with running(FakeGitHub(repos=organisation(count), rate_limit=1_000_000)) as fake:
        settings = Settings.from_env(
            {
                "EXPORTER_GITHUB_API_URL": fake.url,
                "GITHUB_TOKEN": TOKEN,
                "EXPORTER_REPOS": f"org:{ORG}",
                "EXPORTER_MAX_REPOS": "10000",
                "EXPORTER_GITHUB_RETRIES": "0",
            }
        )
        source = GitHubSource(settings, TokenProvider(settings))
        monotonic: Callable[[], float] = lambda: clock[0]  # noqa: E731
        discovery = Discovery(settings, RepoLister(source, monotonic=monotonic), monotonic=monotonic)
        results = [discover(fake, discovery, "cold (empty ETag cache)")]
        clock[0] += INTERVAL / 2
        results.append(discover(fake, discovery, "inside the interval"))
        clock[0] += INTERVAL / 2
        results.append(discover(fake, discovery, "warm, nothing changed"))
        new = make_repo(f"{ORG}/repo-new", now(), commits=2, runs=1)
        new.created_at = REPO_CREATED + timedelta(days=365)
        fake.add_repo(new)
        clock[0] += INTERVAL
        results.append(discover(fake, discovery, "a new repository (created last)"))
        add_commit(fake.repo(f"{ORG}/repo-0500"), now())
        clock[0] += INTERVAL
        results.append(discover(fake, discovery, "a push to one repository"))
        fake.repo(f"{ORG}/repo-0600").archived = True
        clock[0] += INTERVAL
        results.append(discover(fake, discovery, "one repository archived"))
    return results


def series_bound() -> tuple[int, int]:
    """(the most series a repository has besides error counters, the most error counters): each value
    (a split metric: one a split value), goal_met and score for each metric with a goal (a split metric
    is scored on one value), score_overall, metric_success, its last-success time and value age for each
    metric, the refresh duration; and one counter for each metric and reason."""
    metrics = list(default_registry())
    values = sum(len(spec.split.values) if spec.split else 1 for spec in metrics)
    scored = sum(1 for spec in metrics if spec.goal is not None)
    return values + 2 * scored + 1 + 3 * len(metrics) + 1, len(metrics) * len(REASONS)


def series_per_repository() -> int:
    """Series carrying the demo repository's `repo` label with every metric on and none failing."""
    with running(FakeGitHub(repos=[demo_repo(FakeGitHub().clock())])) as fake:
        settings = Settings.from_env(
            {"EXPORTER_GITHUB_API_URL": fake.url, "GITHUB_TOKEN": TOKEN, "EXPORTER_REPOS": REPO}
        )
        exporter = build(settings)
        try:
            text = generate_latest(exporter.registry).decode()
        finally:
            exporter.collector.close()
    samples = [
        sample
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.labels.get("repo") == REPO and not sample.name.endswith("_created")
    ]
    return len(samples)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.discovery", description=__doc__)
    parser.add_argument("--repos", type=int, default=1000, help="repositories in the organisation (default 1000)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    cpu = platform.processor() or platform.machine()
    print(
        f"python -m bench.discovery --repos {args.repos}: {os.cpu_count()} cores ({cpu}), "
        f"Python {platform.python_version()}; fake: 5 % archived, 5 % forks, 2 % empty"
    )
    print("| discovery | GETs | points | 304s | seconds | repositories watched |")
    print("|---|---:|---:|---:|---:|---:|")
    for row in listings(args.repos):
        cells = (row.label, row.requests, row.points, row.not_modified, f"{row.seconds:.2f}", f"{row.watched:,}")
        print("| " + " | ".join(map(str, cells)) + " |")
    bound, errors = series_bound()
    print(f"series with the demo repository's repo label, every metric on, none failing: {series_per_repository()}")
    print(f"series a repository can have at most: {bound}, plus at most {errors} error counters (metrics x reasons)")


if __name__ == "__main__":
    main()
