"""`python -m bench [--quick]`: every figure of issue 6 in one table, with ratios to the baselines."""

from __future__ import annotations

import argparse
import logging
import os
import platform
import time

from bench import concurrency, cost, growth, scrape
from bench.common import Report


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="shorter loads, fewer sizes (about a minute)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the exporter logs every refresh at INFO
    started = time.monotonic()
    report = Report()
    facts = cost.run(report, args.quick)
    concurrency.run(report, args.quick)
    scrape.run(report, args.quick)
    growth.run(report, args.quick, facts)
    cpu = platform.processor() or platform.machine()
    print(
        f"python -m bench{' --quick' if args.quick else ''}: {os.cpu_count()} cores ({cpu}), "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}; "
        f"took {time.monotonic() - started:.0f}s"
    )
    print(report.table())


if __name__ == "__main__":
    main()
