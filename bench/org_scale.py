"""`python -m bench.org_scale [--repos N ...] [--intervals K] [--quick]`: one GitHub identity, an organisation
of N repositories, 1 in 10 changing every 15 minutes, in simulated time (issue 14).

The fake GitHub (bench/org_fake.py) serves the organisation (bench/organisation.py) from a forked child
process, with GitHub's secondary limits on (900 points a minute, 100 concurrent requests) and an App
installation's primary limit (12,500 an hour). The exporter runs here, wired by `exporter.cli.build` as
`serve` wires it, discovering `org:bench-org`. Both read one `VirtualClock`: time moves only when the
bench moves it to an interval's end (or when the exporter's pacer sleeps, once there is one), so five
intervals take minutes, not hours.

Each interval: the changes planned for it happen at their times (a push, a scheduled run, a re-run, a
pull request from a fork, a redeploy; scheduled runs only at the fire times of the crons the repositories'
workflow files declare, the other kinds drawn to make up 1 in 10 repositories); at its end the bench
scrapes the exporter as the Datadog agent does (a stale cache starts a refresh; the bench waits for it),
then counts what GitHub saw and compares each served value of five metrics with what the fake's model
says. Interval 0 is the first full read.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import platform
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from prometheus_client import generate_latest

from bench.common import TOKEN
from bench.org_fake import PRIMARY_POINTS_PER_HOUR, Counted, FakeProcess, fake_process, memory_kib
from bench.organisation import AFFECTS, KINDS, METRICS, ORG, SLOW_METRICS, Change, Values
from bench.virtual_clock import VirtualClock
from exporter.cli import Exporter, build
from exporter.github.credentials import TokenProvider
from exporter.settings import Settings

INTERVAL_SECONDS = 900.0  # the agent's scrape interval
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday morning; the organisation's history ends here
HOUR = 3600.0
MAX_WARMUP_REFRESHES = 40  # --warm-start: at most this many refreshes to read every repository once
REFRESH_WAIT_SECONDS = 1800.0  # real seconds the bench waits for one refresh
# README's settings for 15-minute scrapes. A refresh must end before the next scrape (deadline 13 minutes).
# The TTL counts from a refresh's start, so it lies between the two: the scrape 15 minutes on finds the
# cache stale, and the render right after a refresh of up to 13 minutes finds it fresh. (With a TTL under
# the refresh's length that render starts another refresh, which would run on while the bench moves the
# clock to the interval's end and eat that refresh's deadline: `scrape` refuses to go on then.)
INTERVAL_ENV = {
    "EXPORTER_REFRESH_DEADLINE_SECONDS": "780",
    "EXPORTER_CACHE_TTL_SECONDS": "840",
}
DATA_AGE = "system_health_exporter_data_age_seconds"  # per data kind, when the exporter serves it
NAMES = {key.replace(".", "_"): key for key in METRICS}
_REPO_LABEL = re.compile(r'repo="([^"]*)"')
_KIND_LABEL = re.compile(r'kind="([^"]*)"')


@dataclass
class Interval:
    """One interval's figures, at its end."""

    index: int
    at: float
    changes: dict[str, int]  # by kind
    counted: Counted
    scraped: Scraped  # without its text
    rss_kib: int
    hwm_kib: int
    wrong: dict[str, dict[str, int]]  # metric -> kind of the repository's last change ("none") -> repositories
    wrong_hour: dict[str, dict[str, int]]  # slow metrics: matching neither now nor an hour before
    unserved: dict[str, int]  # metric -> wrong repositories with no value served at all
    data_age: dict[str, float] | None


@dataclass
class Staleness:
    """A change kind: how long its changes took to show in the served values."""

    changes: int = 0
    shown: list[float] = field(default_factory=list)  # seconds from the change to the interval end it showed at
    unshown_ages: list[float] = field(default_factory=list)  # at the last interval end, for those not shown


@dataclass
class SizeResult:
    repos: int
    secondary_limits: bool
    generation_seconds: float
    intervals: list[Interval]
    staleness: dict[str, Staleness]
    real_seconds: float
    self_check: dict[str, int] | None = None
    warmup: dict[str, float] | None = None  # --warm-start: the cold read, done before the measured intervals

    @property
    def watched(self) -> int:
        """The repositories the exporter's last refresh covered."""
        refreshed = [row.scraped.watched for row in self.intervals if row.scraped.refreshed]
        return refreshed[-1] if refreshed else 0


def pacing(clock: VirtualClock) -> dict[str, Any]:
    """What the bench hands `build` so the exporter's pacer (exporter/github/pacing.py) waits on the virtual
    clock: a wait for a turn is `clock.sleep`, i.e. `advance_to(now + d)`."""
    return {"pacing_clock": clock, "pacing_sleep": clock.sleep}


def settings_for(url: str, count: int, overrides: Mapping[str, str]) -> Settings:
    values = {
        "EXPORTER_GITHUB_API_URL": url,
        "GITHUB_TOKEN": TOKEN,  # counted like an App installation's token: the fake's primary limit is 12,500
        "EXPORTER_REPOS": f"org:{ORG}",
        "EXPORTER_MAX_REPOS": str(min(10_000, max(count, 1))),
        "EXPORTER_LOG_LEVEL": "ERROR",
        **INTERVAL_ENV,
    }
    values.update(overrides)
    return Settings.from_env(values)


def served(text: str) -> tuple[dict[str, dict[str, float]], dict[str, float] | None]:
    """From a scrape: each metric's value by repository, and the data ages by kind (None when not served)."""
    values: dict[str, dict[str, float]] = {key: {} for key in METRICS}
    ages: dict[str, float] | None = None
    for line in text.splitlines():
        name = line.split("{", 1)[0]
        if name in NAMES:
            repo = _REPO_LABEL.search(line)
            if repo is not None:
                values[NAMES[name]][repo[1]] = float(line.rsplit(" ", 1)[1])
        elif name == DATA_AGE:
            kind = _KIND_LABEL.search(line)
            ages = {} if ages is None else ages
            label, age = kind[1] if kind else "", float(line.rsplit(" ", 1)[1])
            ages[label] = max(age, ages.get(label, age))
    return values, ages


def wrong_repos(
    values: Mapping[str, Mapping[str, float]], truths: Sequence[Mapping[str, Values]]
) -> dict[str, set[str]]:
    """For each metric, the repositories whose served value (or its absence) matches none of `truths`."""
    wrong: dict[str, set[str]] = {key: set() for key in METRICS}
    names = truths[0].keys()
    for position, key in enumerate(METRICS):
        shown = values[key]
        for repo in names:
            value = shown.get(repo)
            if all(truth[repo][position] != value for truth in truths):
                wrong[key].add(repo)
    return wrong


def by_kind(repos: set[str], last_kind: Mapping[str, str]) -> dict[str, int]:
    counted = Counter(last_kind.get(repo, "none") for repo in repos)
    return {kind: counted[kind] for kind in (*KINDS, "none") if counted[kind]}


@dataclass(frozen=True)
class Scraped:
    """One scrape: its text, and the refresh it started (if it started one)."""

    text: str
    refreshed: bool = False
    watched: int = 0
    simulated_seconds: float = 0.0
    real_seconds: float = 0.0
    failed: dict[str, int] = field(default_factory=dict)  # series failed in the refresh, by reason


def scrape(exporter: Exporter) -> Scraped:
    """As the agent scrapes: a stale cache starts a refresh; wait for it (bounded), then render."""
    began = time.perf_counter()
    future = exporter.collector.refresh_if_stale()
    if future is None:
        return Scraped(generate_latest(exporter.registry).decode())
    result = future.result(timeout=REFRESH_WAIT_SECONDS)
    real = time.perf_counter() - began
    failed = Counter(str(series.reason) for series in result.failed)
    text = generate_latest(exporter.registry).decode()
    if exporter.collector.refreshing:
        raise RuntimeError("rendering the scrape started another refresh: the cache TTL is shorter than a refresh")
    return Scraped(text, True, len(result.repos), result.seconds, real, dict(failed))


class Changes:
    """The bench's ledger of changes: planned, happened and not served yet, and each repository's latest kind."""

    def __init__(self) -> None:
        self.staleness = {kind: Staleness() for kind in KINDS}
        self.last_kind: dict[str, str] = {}
        self._planned: list[Change] = []
        self._unshown: list[Change] = []

    def plan(self, changes: Sequence[Change]) -> None:
        self._planned.extend(changes)

    def happen(self, end: float) -> list[Change]:
        """The planned changes with a time up to `end`, now happened."""
        happened = [change for change in self._planned if change.at <= end]
        self._planned = [change for change in self._planned if change.at > end]
        for change in happened:
            self.last_kind[change.repo] = change.kind
            self.staleness[change.kind].changes += 1
        self._unshown.extend(happened)
        return happened

    def settle(self, wrong: Mapping[str, set[str]], end: float) -> None:
        """A change shows at the first interval end where every metric it moves is served right."""
        waiting = []
        for change in self._unshown:
            if any(change.repo in wrong[key] for key in AFFECTS[change.kind]):
                waiting.append(change)
            else:
                self.staleness[change.kind].shown.append(end - change.at)
        self._unshown = waiting

    def close(self, now: float) -> None:
        """The end of the run: the changes never shown, with their ages."""
        for change in self._unshown:
            self.staleness[change.kind].unshown_ages.append(now - change.at)
        self._unshown = []


@dataclass
class Judged:
    """The served values of the last interval end and the truths they were judged against."""

    values: dict[str, dict[str, float]]
    truths: list[dict[str, Values]]


def measure(
    index: int, end: float, exporter: Exporter, fake: FakeProcess, clock: VirtualClock, changes: Changes
) -> tuple[Interval, Judged]:
    """The interval ending at `end`: its changes happen, the agent scrapes, the bench counts and judges."""
    clock.advance_to(end)
    happened = changes.happen(end)
    scraped = scrape(exporter)
    values, ages = served(scraped.text)
    counted = fake.counted(end)
    rss, hwm = memory_kib(os.getpid())
    truths = fake.truths(sorted({end, clock()}))  # a paced refresh may have moved the clock on
    wrong = wrong_repos(values, truths)
    hour_before = wrong_repos(values, fake.truths([end - HOUR]))
    wrong_hour = {key: wrong[key] & hour_before[key] for key in SLOW_METRICS}
    changes.settle(wrong, end)
    interval = Interval(
        index=index,
        at=end,
        changes=dict(Counter(change.kind for change in happened)),
        counted=counted,
        scraped=dataclasses.replace(scraped, text=""),
        rss_kib=rss,
        hwm_kib=hwm,
        wrong={key: by_kind(repos, changes.last_kind) for key, repos in wrong.items()},
        wrong_hour={key: by_kind(repos, changes.last_kind) for key, repos in wrong_hour.items()},
        unserved={key: sum(1 for repo in repos if repo not in values[key]) for key, repos in wrong.items()},
        data_age=ages,
    )
    return interval, Judged(values, truths)


def _first_error(exporter: Exporter) -> str:
    last = exporter.collector.snapshot.last
    failed = last.failed if last is not None else ()
    pacing = last.pacing if last is not None else None
    return (f"pacing {pacing}; " if pacing else "") + (f"e.g. {failed[0].repo}: {failed[0].error}" if failed else "")


def warm_up(exporter: Exporter, fake: FakeProcess, clock: VirtualClock) -> tuple[dict[str, float], float]:
    """--warm-start: refresh (paced, no primary limit) until every repository is read, then put the primary
    limit on in a fresh hour. The cold read's cost, and the interval boundary the measured intervals start at."""
    began, refreshes, requests, primary = clock(), 0, 0, 0
    while refreshes < MAX_WARMUP_REFRESHES:
        scraped_at = clock()
        scraped = scrape(exporter)
        counted = fake.counted(clock())
        refreshes, requests, primary = refreshes + 1, requests + counted.requests, primary + counted.primary_points
        print(
            f"warm-up refresh {refreshes}: {counted.requests:,} requests, failed {scraped.failed}, "
            f"{scraped.real_seconds:.0f}s real, {scraped.simulated_seconds:.0f}s simulated; {_first_error(exporter)}",
            file=sys.stderr,
            flush=True,
        )
        if scraped.refreshed and not scraped.failed:
            break
        clock.advance_to(scraped_at + INTERVAL_SECONDS)  # the agent's next scrape, as in the measured intervals
    fake.set_primary_limit(PRIMARY_POINTS_PER_HOUR)
    start = (clock() // INTERVAL_SECONDS + 1) * INTERVAL_SECONDS
    cost = {"refreshes": refreshes, "requests": requests, "primary_points": primary, "seconds": clock() - began}
    return cost, start


def run_size(
    count: int,
    intervals: int,
    seed: int,
    secondary: bool,
    overrides: Mapping[str, str],
    plant: int,
    warm_start: bool = False,
) -> SizeResult:
    """Serve an organisation of `count` repositories for the first read (or, `warm_start`, a warm-up read
    without the primary limit) and `intervals` more."""
    began = time.perf_counter()
    clock = VirtualClock(START.timestamp())
    changes = Changes()
    results: list[Interval] = []
    checked: dict[str, int] | None = None
    warmup: dict[str, float] | None = None
    with fake_process(clock, count, seed, secondary) as (fake, url, generation_seconds):
        settings = settings_for(url, count, overrides)
        exporter = build(
            settings, TokenProvider(settings), clock=clock.datetime, wall=clock, monotonic=clock, **pacing(clock)
        )
        first = START.timestamp()
        try:
            if warm_start:
                fake.set_primary_limit(10**9)
                warmup, first = warm_up(exporter, fake, clock)
                print(f"{count} repos, warm-up: {warmup}", file=sys.stderr, flush=True)
            for index in range(intervals + 1):
                end = first + index * INTERVAL_SECONDS
                if index < intervals:  # planned before this refresh starts, in case it runs into the interval
                    changes.plan(fake.plan(end, end + INTERVAL_SECONDS))
                interval, judged = measure(index, end, exporter, fake, clock, changes)
                results.append(interval)
                print(progress(count, interval), file=sys.stderr, flush=True)
            changes.close(clock())
            if plant:
                checked = self_check(fake, judged, plant, clock())
        finally:
            exporter.collector.close(wait_seconds=30)
    return SizeResult(
        count, secondary, generation_seconds, results, changes.staleness, time.perf_counter() - began, checked, warmup
    )


def self_check(fake: FakeProcess, judged: Judged, plant: int, now: float) -> dict[str, int]:
    """Plant `plant` stale values (change the model now, refresh nothing): how many the comparison flags."""
    before = wrong_repos(judged.values, judged.truths)
    planted = fake.plant_stale(plant)
    after = wrong_repos(judged.values, fake.truths([now]))
    return {
        "planted": len(planted),
        "right_before": sum(1 for repo, key in planted if repo not in before[key]),
        "detected": sum(1 for repo, key in planted if repo in after[key]),
    }


# --- the report ------------------------------------------------------------------------------------


def _clock_text(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%H:%M")


def _kinds(counts: Mapping[str, int]) -> str:
    total = sum(counts.values())
    if not total:
        return "0"
    return f"{total:,} (" + ", ".join(f"{kind} {number:,}" for kind, number in counts.items()) + ")"


def progress(count: int, row: Interval) -> str:
    wrong = sum(sum(kinds.values()) for kinds in row.wrong.values())
    return (
        f"{count} repos, interval {row.index}: {row.counted.requests} requests, "
        f"{row.counted.secondary_refused} secondary refusals, refresh {row.scraped.real_seconds:.1f}s real, "
        f"{wrong} wrong values"
    )


def table(rows: Sequence[Sequence[object]]) -> str:
    header, *body = [[str(cell) for cell in row] for row in rows]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


def cost_table(result: SizeResult) -> str:
    rows: list[list[object]] = [
        [
            "interval (end)",
            "changes",
            "requests",
            "304s",
            "secondary points",
            "primary points",
            "peak points/min",
            "peak concurrency",
            "403 secondary",
            "403 primary",
            "series failed (reasons)",
            "refresh s simulated",
            "refresh s real",
            "exporter RSS MiB (peak)",
        ]
    ]
    for row in result.intervals:
        counted = row.counted
        failed = ", ".join(f"{reason} {number:,}" for reason, number in sorted(row.scraped.failed.items())) or "0"
        rows.append(
            [
                f"{row.index}{' (first read)' if row.index == 0 and result.warmup is None else ''} "
                f"({_clock_text(row.at)})",
                sum(row.changes.values()),
                f"{counted.requests:,}",
                f"{counted.not_modified:,}",
                f"{counted.secondary_points:,}",
                f"{counted.primary_points:,}",
                f"{counted.peak_points_per_minute:,}",
                counted.peak_concurrency,
                f"{counted.secondary_refused:,}",
                f"{counted.primary_refused:,}",
                failed,
                f"{row.scraped.simulated_seconds:.0f}" if row.scraped.refreshed else "no refresh",
                f"{row.scraped.real_seconds:.1f}",
                f"{row.rss_kib / 1024:.0f} ({row.hwm_kib / 1024:.0f})",
            ]
        )
    return table(rows)


def _warmup_text(result: SizeResult) -> str:
    """--warm-start: what the cold read cost, before the measured intervals (interval 0 is then warm)."""
    warm = result.warmup
    if warm is None:
        return ""
    return (
        f"Warm-up (not in the tables; no primary limit): every repository read in {warm['refreshes']:.0f} "
        f"refreshes, {warm['requests']:,.0f} requests, {warm['primary_points']:,.0f} primary points, "
        f"{warm['seconds'] / 60:.0f} simulated minutes. The primary limit (12,500/h) is on from the measured "
        "intervals, in a fresh hour.\n"
    )


def cost_by_kind_table(result: SizeResult) -> str:
    """Requests per interval by what they asked for (bench/org_fake.py `request_kind`)."""
    kinds = sorted({kind for row in result.intervals for kind in row.counted.by_kind})
    rows: list[list[object]] = [["interval", *kinds]]
    rows += [[row.index, *(f"{row.counted.by_kind.get(kind, 0):,}" for kind in kinds)] for row in result.intervals]
    return table(rows)


def correctness_table(result: SizeResult) -> str:
    header: list[object] = ["interval", *METRICS]
    rows: list[list[object]] = [header]
    for row in result.intervals:
        cells: list[object] = [row.index]
        for key in METRICS:
            cell = f"{_kinds(row.wrong[key])}, {row.unserved[key]:,} not served"
            if key in SLOW_METRICS:
                cell += f"; vs an hour before too: {_kinds(row.wrong_hour[key])}"
            cells.append(cell)
        rows.append(cells)
    return table(rows)


def staleness_table(result: SizeResult) -> str:
    rows: list[list[object]] = [
        ["change kind", "changes", "shown", "oldest staleness min", "median min", "not shown by the end (oldest, min)"]
    ]
    for kind, stats in result.staleness.items():
        shown = stats.shown
        rows.append(
            [
                kind,
                stats.changes,
                len(shown),
                f"{max(shown) / 60:.0f}" if shown else "-",
                f"{statistics.median(shown) / 60:.0f}" if shown else "-",
                f"{len(stats.unshown_ages)} ({max(stats.unshown_ages) / 60:.0f})" if stats.unshown_ages else "0",
            ]
        )
    return table(rows)


def data_age_table(result: SizeResult) -> str:
    kinds = sorted({kind for row in result.intervals for kind in (row.data_age or {})})
    if not kinds:
        return f"({DATA_AGE} not served: skipped)"
    rows: list[list[object]] = [["interval", *kinds]]
    for row in result.intervals:
        ages = row.data_age or {}
        rows.append([row.index, *(f"{ages[kind]:.0f}" if kind in ages else "-" for kind in kinds)])
    return table(rows)


def report(result: SizeResult, intervals: int) -> str:
    limits = (
        "secondary limits on (900 points/min, 100 concurrent)" if result.secondary_limits else "secondary limits off"
    )
    fake_mib = result.intervals[-1].counted.fake_rss_kib / 1024 if result.intervals else 0.0
    parts = [
        f"### {result.repos:,} repositories ({result.watched:,} watched), {intervals} intervals of 15 minutes "
        f"after the first read; {limits}, primary 12,500/h; organisation made in {result.generation_seconds:.1f}s; "
        f"took {result.real_seconds:.0f}s",
        "",
        _warmup_text(result),
        "Cost per interval (what the fake GitHub saw). The RSS is this process's: the exporter's, with the bench's "
        f"bookkeeping (truths, the scrape's text); the fake runs apart ({fake_mib:.0f} MiB at the end):",
        "",
        cost_table(result),
        "",
        "Requests per interval by what they asked for:",
        "",
        cost_by_kind_table(result),
        "",
        "Repositories whose served value is wrong at the interval's end, by the kind of their latest change "
        "(none: unchanged since the first read), and how many of them have no value served at all:",
        "",
        correctness_table(result),
        "",
        "Staleness: from a change to the first interval end where every metric it moves is served right:",
        "",
        staleness_table(result),
        "",
        f"{DATA_AGE}{{kind}} at each interval's end (max over repositories, seconds):",
        "",
        data_age_table(result),
    ]
    if result.self_check is not None:
        check = result.self_check
        parts += [
            "",
            f"self-check: {check['planted']} values made stale on purpose ({check['right_before']} right before), "
            f"{check['detected']} detected as wrong",
        ]
    return "\n".join(parts)


def _overrides(pairs: Sequence[str]) -> dict[str, str]:
    found = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if not separator or not name:
            raise SystemExit(f"--env wants NAME=VALUE, got {pair!r}")
        found[name] = value
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.org_scale", description=__doc__)
    parser.add_argument("--repos", type=int, nargs="+", help="organisation sizes (default 1000; quick: 300)")
    parser.add_argument("--intervals", type=int, help="15-minute intervals after the first read (5; quick: 3)")
    parser.add_argument("--quick", action="store_true", help="a smoke test: 300 repositories, 3 intervals")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--no-secondary-limits", action="store_true", help="let the fake accept any burst")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="an exporter setting")
    parser.add_argument("--self-check", type=int, default=0, metavar="N", help="plant N stale values at the end")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    parser.add_argument(
        "--warm-start",
        action="store_true",
        help="read every repository first without the primary limit (reported apart), then measure",
    )
    args = parser.parse_args(argv)
    sizes = args.repos or ([300] if args.quick else [1000])
    intervals = args.intervals or (3 if args.quick else 5)
    logging.basicConfig(level=logging.ERROR)  # the exporter logs each failing repository at WARNING
    print(
        f"python -m bench.org_scale {' '.join(sys.argv[1:] if argv is None else argv)}: {os.cpu_count()} cores "
        f"({platform.machine()}), Python {platform.python_version()}; simulated time from {START:%Y-%m-%d %H:%M}Z"
    )
    results = []
    for count in sizes:
        result = run_size(
            count,
            intervals,
            args.seed,
            not args.no_secondary_limits,
            _overrides(args.env),
            args.self_check,
            args.warm_start,
        )
        results.append(result)
        print()
        print(report(result, intervals), flush=True)
    if args.json:
        with open(args.json, "w") as out:
            json.dump([asdict(result) for result in results], out, indent=1)
    checks = [result.self_check for result in results if result.self_check is not None]
    return 1 if any(check["detected"] < check["planted"] for check in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
