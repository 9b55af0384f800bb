"""Goal 3: refresh time of 50 repositories with 100 ms injected latency per GitHub request."""

from __future__ import annotations

import threading

import requests

from bench.common import Report, repo_names, wire
from exporter.github import transport
from exporter.settings import Settings
from tests.processes import child, clean_env

LATENCY = 0.1
REPOS = 50


class InFlight:
    """A `transport` middleware counting the most requests in flight at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 0
        self.peak = 0

    def __call__(self, request: transport.HttpRequest, send: transport.Send) -> requests.Response:
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        try:
            return send(request)
        finally:
            with self._lock:
                self.now -= 1


def _refresh_seconds(repos: int, concurrency: int, latency: float = LATENCY) -> tuple[float, float, int]:
    """(cold refresh seconds, warm refresh seconds, peak requests in flight), the fake in its own process."""
    names = repo_names(repos)
    with child(["-m", "bench.fake_process", str(repos), "50", str(latency)], clean_env()) as fake:
        assert fake.stdout is not None
        url = fake.stdout.readline().strip()
        if not url.startswith("http://127.0.0.1:"):
            raise RuntimeError("the fake GitHub process did not start")
        counter = InFlight()
        wired = wire(url, names, hooks=transport.HttpHooks([counter]), EXPORTER_GITHUB_CONCURRENCY=str(concurrency))
        cold = wired.refresher()
        warm = wired.refresher()
        if cold.failed or warm.failed:
            raise RuntimeError(f"bench refresh failed: {(cold.failed or warm.failed)[0].error}")
        return cold.seconds, warm.seconds, counter.peak


def run(report: Report, quick: bool) -> None:
    default = Settings.model_fields["github_concurrency"].default
    cold, warm, peak = _refresh_seconds(REPOS, default)
    if quick:  # one repository at a time: 10 repositories, scaled to 50
        sequential, _, _ = _refresh_seconds(10, 1)
        sequential, how = sequential * REPOS / 10, "10 repos x5 (--quick)"
    else:
        sequential, _, _ = _refresh_seconds(REPOS, 1)
        how = "measured"
    name, unit = "one at a time", " s"
    report.add(
        "3",
        f"refresh of {REPOS} repos, 100 ms/request, concurrency {default} (default)",
        cold,
        sequential,
        name,
        unit,
        f"peak {peak} requests in flight; sequential {how}",
    )
    report.add("3", f"same, second refresh (all 304), concurrency {default}", warm, sequential, name, unit)
    for concurrency in (8, REPOS):
        seconds, _, peak = _refresh_seconds(REPOS, concurrency)
        report.add(
            "3",
            f"refresh of {REPOS} repos, 100 ms/request, concurrency {concurrency}",
            seconds,
            sequential,
            name,
            unit,
            f"peak {peak} in flight",
        )
    floor, warm_floor, _ = _refresh_seconds(REPOS, default, latency=0.0)
    report.add(
        "3",
        f"refresh of {REPOS} repos, no latency (CPU floor), concurrency {default}",
        floor,
        sequential,
        name,
        unit,
        f"second refresh {warm_floor:.2f} s; JSON, HTTP and threads on one interpreter lock",
    )
