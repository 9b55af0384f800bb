"""Issue 12: the status page with 1,000 repositories. `python -m bench.status_page [--repos 1000] [--runs 7]`.

The snapshot is synthetic (tests/concurrent_scrapes.py): two refreshes of every registered metric over
`--repos` repositories, the second failing every metric of half of them, so that rows carry errors.
Figures, each the median of `--runs`:

- server render: `status_page()` + `status_html.render()` in this process (what `GET /` does past the snapshot);
- GET /: the whole answer over loopback from the real app under uvicorn (gzip off: httpx asks identity);
- browser load: Debian's Chromium (Playwright) opening `/` until its `load` event, from navigation start;
- refresh in the browser: a click on "Refresh now" until the page says it refreshed (a synthetic refresh,
  /status.json fetched and every row rendered again by the script).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import uvicorn
from playwright.sync_api import sync_playwright
from prometheus_client import CollectorRegistry

from exporter.collector import HealthCollector
from exporter.web import assets, status_html
from exporter.web.app import create_app
from exporter.web.status_page import status_page
from tests.clocked import Clock
from tests.concurrent_scrapes import SyntheticRefreshes
from tests.processes import free_port

CHROMIUM = "/usr/bin/chromium"


def _median_ms(runs: int, action: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


@contextlib.contextmanager
def _served(collector: HealthCollector, refresher: SyntheticRefreshes) -> Iterator[str]:
    """The real app over this collector, under uvicorn in a thread, until the block ends."""
    app = create_app(refresher.settings, collector, CollectorRegistry())
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start within 30 s")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.status_page", description=__doc__)
    parser.add_argument("--repos", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"{os.cpu_count()} cores ({platform.machine()}), Python {platform.python_version()}; load before: {load}")

    clock = Clock()
    refresher = SyntheticRefreshes(args.repos, clock)
    refresher.settings = refresher.settings.model_copy(update={"refresh_min_interval_seconds": 0.0})
    collector = HealthCollector(refresher.settings, refresher.metrics, refresher, wall=clock)
    try:
        collector.refresh().result(timeout=60)
        collector.refresh().result(timeout=60)
        snapshot = collector.snapshot
        static = assets.load()
        css, js = static["status.css"].url, static["status.js"].url

        def render() -> str:
            page = status_page(snapshot, collector.metrics, refresher.settings, clock(), False)
            return status_html.render(page, css, js)

        html = render()
        rows = html.count('<tr class="metric ')
        errors = html.count('<tr class="error"')
        server_ms = _median_ms(args.runs, render)

        with _served(collector, refresher) as url, httpx.Client(timeout=30) as client:
            get_ms = _median_ms(args.runs, lambda: client.get(f"{url}/", headers={"Accept-Encoding": "identity"}))
            with sync_playwright() as driver:
                browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                try:
                    loads, refreshes = [], []
                    for _ in range(args.runs):
                        context = browser.new_context(viewport={"width": 1000, "height": 700})
                        page = context.new_page()
                        page.goto(f"{url}/", wait_until="load", timeout=60_000)
                        loads.append(page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd"))
                        start = time.perf_counter()
                        page.click("#refresh")
                        page.wait_for_selector("#message[data-kind=done]", timeout=60_000)
                        refreshes.append((time.perf_counter() - start) * 1000)
                        context.close()
                finally:
                    browser.close()
    finally:
        collector.close()

    print(f"{args.repos:,} repositories, {rows:,} metric rows, {errors:,} error rows; page {len(html) / 1024:,.0f} KiB")
    print(f"| figure | median of {args.runs} |")
    print("|---|---|")
    print(f"| server render (model + HTML) | {server_ms:.0f} ms |")
    print(f"| GET / over loopback (uvicorn, identity) | {get_ms:.0f} ms |")
    print(f"| Chromium: navigation start to load event | {statistics.median(loads):.0f} ms |")
    print(f"| Chromium: Refresh now to rows rendered again | {statistics.median(refreshes):.0f} ms |")
    print(f"load after: {', '.join(f'{value:.2f}' for value in os.getloadavg())}")


if __name__ == "__main__":
    main()
