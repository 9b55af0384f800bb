"""Oversized GitHub answers (issue 9 §4): peak resident memory and wall time of one `exporter report`
process while the fake GitHub serves a gzip bomb on the commits list (1 GiB decoded, about 1 MB on
the wire) and a 100 MB JSON runs list, with the default EXPORTER_MAX_ANSWER_BYTES. All on 127.0.0.1.

    .venv/bin/python -m bench.answer_size [--gzip-bytes N] [--huge-bytes N]
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from bench.common import make_repo
from exporter.demo import FakeGitHub, Fault
from tests.processes import clean_env, run_measured

REPO = "bench-org/answers"


def _reasons(stdout: str) -> str:
    """`key=value` or `key=FAILED(reason)` for each metric of the report, or what the process printed."""
    try:
        metrics = json.loads(stdout)["repositories"][REPO]["metrics"]
    except (ValueError, KeyError, TypeError):
        return f"no report ({stdout[:80]!r})"
    shown = []
    for key, entry in sorted(metrics.items()):
        error = entry.get("error")
        shown.append(f"{key}=FAILED({error['reason']})" if error else f"{key}={entry['value']}")
    return ", ".join(shown)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.answer_size", description=__doc__)
    parser.add_argument("--gzip-bytes", type=int, default=1 << 30, help="decoded size of the gzip bomb")
    parser.add_argument("--huge-bytes", type=int, default=100_000_000, help="size of the plain JSON runs list")
    args = parser.parse_args()
    cases: dict[str, list[Fault]] = {
        "no fault": [],
        "gzip bomb on commits": [Fault("gzip_bomb", path_regex="/commits$", body_bytes=args.gzip_bytes)],
        "huge JSON runs list": [Fault("huge_body", path_regex="/runs$", body_bytes=args.huge_bytes)],
    }
    cases["both"] = cases["gzip bomb on commits"] + cases["huge JSON runs list"]
    print(f"gzip bomb {args.gzip_bytes:,} bytes decoded; huge body {args.huge_bytes:,} bytes")
    print("| case | exit | peak RSS (MB) | seconds | metrics |")
    print("|---|---|---|---|---|")
    with FakeGitHub([make_repo(REPO, datetime.now(UTC), commits=50, runs=5)]) as fake:
        for name, faults in cases.items():
            fake.clear_faults()
            for fault in faults:
                fake.inject(fault)
            env = clean_env(
                EXPORTER_GITHUB_API_URL=fake.url,
                GITHUB_TOKEN="bench",
                EXPORTER_REPOS=REPO,
                EXPORTER_GITHUB_RETRIES="0",
                EXPORTER_GITHUB_TIMEOUT_SECONDS="60",
                EXPORTER_LOG_LEVEL="ERROR",
            )
            done = run_measured("exporter", ["report", "--json"], env, timeout=300)
            peak = done.peak_rss_kib / 1024
            print(f"| {name} | {done.returncode} | {peak:,.0f} | {done.seconds:.1f} | {_reasons(done.stdout)} |")


if __name__ == "__main__":
    main()
