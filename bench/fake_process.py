"""`python -m bench.fake_process REPOS COMMITS LATENCY`: a FakeGitHub in a process of its own.

For timing a refresh, the fake must not share the exporter's interpreter lock: it prints its URL,
serves until its stdin closes, then stops.
"""

from __future__ import annotations

import sys

from bench.common import make_repo, now, repo_names
from exporter.demo import FakeGitHub


def main() -> None:
    repos, commits, latency = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    moment = now()
    fake = FakeGitHub(repos=[make_repo(name, moment, commits) for name in repo_names(repos)], rate_limit=10**9)
    fake.latency_seconds = latency
    print(fake.start(), flush=True)
    try:
        sys.stdin.read()
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
