"""Issue 9 §1: does a scrape ever see half a refresh? `python -m bench.consistency [--trials N]`.

Repeats the issue's reproduction: four threads scrape through `generate_latest` in a loop (scrape
wait 0) while the first refresh of many repositories is applied, and counts the trials in which a
scrape raised (what /metrics answers 500 for) or served samples of two refreshes. Each trial is a
new collector; the refresh is synthetic (tests/concurrent_scrapes.py), so it is applied at once.
"""

from __future__ import annotations

import argparse
import sys
import time

from tests.concurrent_scrapes import inconsistency, scrape_during_refreshes

CASES = (  # (repositories, refreshes a trial, thread switch interval: None = Python's default 5 ms)
    (2000, 1, None),
    (300, 1, 1e-5),
    (300, 3, 1e-5),
)


def trials(repos: int, refreshes: int, switch_interval: float | None, count: int) -> str:
    raised = mixed = scrapes = 0
    example = ""
    start = time.monotonic()
    for _ in range(count):
        seen, expected = scrape_during_refreshes(repos, refreshes, switch_interval)
        scrapes += len(seen)
        errors = [repr(s) for s in seen if isinstance(s, BaseException)]
        problems = [p for s in seen if isinstance(s, bytes) and (p := inconsistency(s, expected))]
        raised += bool(errors)
        mixed += bool(problems)
        example = example or (errors or problems or [""])[0][:160]
    interval = "default" if switch_interval is None else f"{switch_interval * 1e6:g} µs"
    return (
        f"| {repos:,} | {refreshes} | {interval} | {count} | {raised} | {mixed} | {scrapes:,} "
        f"| {time.monotonic() - start:.0f} s | {example} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.consistency", description=__doc__)
    parser.add_argument("--trials", type=int, default=100)
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}")
    print(
        "| repos | refreshes | switch interval | trials | trials with a scrape raising | trials with a mixed scrape "
        "| scrapes | took | first problem |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for repos, refreshes, interval in CASES:
        print(trials(repos, refreshes, interval, args.trials), flush=True)


if __name__ == "__main__":
    main()
