"""Goal 3: refresh time of 50 repositories with 100 ms injected latency per GitHub request."""

from __future__ import annotations

import threading

import requests

from bench.common import Report, make_repo, measure, now, repo_names, running, wire
from exporter import github_http
from exporter.fakegithub import FakeGitHub
from exporter.settings import Settings

LATENCY = 0.1
REPOS = 50


class InFlight:
    """A `github_http` middleware counting the most requests in flight at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 0
        self.peak = 0

    def __call__(self, request: github_http.HttpRequest, send: github_http.Send) -> requests.Response:
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        try:
            return send(request)
        finally:
            with self._lock:
                self.now -= 1


def _refresh_seconds(repos: int, concurrency: int) -> tuple[float, float, int]:
    """(cold refresh seconds, warm refresh seconds, peak requests in flight)."""
    names = repo_names(repos)
    moment = now()
    with running(FakeGitHub(repos=[make_repo(name, moment, 50) for name in names])) as fake:
        fake.latency_seconds = LATENCY
        counter = InFlight()
        hooks = github_http.HttpHooks([counter])
        wired = wire(fake, names, hooks=hooks, EXPORTER_GITHUB_CONCURRENCY=str(concurrency))
        cold = measure(fake, wired)
        warm = measure(fake, wired)
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
    report.add("3", f"refresh of {REPOS} repos, 100 ms/request, concurrency {default} (default)", cold,
               sequential, "one at a time", " s", f"peak {peak} requests in flight; sequential {how}")
    report.add("3", f"same, second refresh (all 304), concurrency {default}", warm, sequential, "one at a time", " s")
    for concurrency in (8, 16, REPOS):
        if quick and concurrency != 8:
            continue
        seconds, _, peak = _refresh_seconds(REPOS, concurrency)
        report.add("3", f"refresh of {REPOS} repos, 100 ms/request, concurrency {concurrency}", seconds,
                   sequential, "one at a time", " s", f"peak {peak} in flight")
