"""The GitHub request pacer (exporter/github/pacing.py): what it costs a request, and the schedule it keeps.

`python -m bench.pacing` prints
- the pacer's own cost per request (one thread, a `send` that answers at once, on simulated time so
  that a wait costs only the call to `sleep`), next to the same loop without it;
- on simulated time, a refresh's worth of requests sent one after another at the default 720 points
  a minute: how long the schedule takes, its busiest 60-second window (sliding) and busiest calendar
  minute, and the longest gap between two requests.
"""

from __future__ import annotations

import bisect
import itertools
import threading
import time

import requests

from exporter.github.pacing import RequestPacer
from exporter.github.transport import HttpRequest

REQUEST = HttpRequest("GET", "https://api.github.com/rate_limit", {}, 10.0)
ANSWER = requests.Response()


class SimulatedTime:
    """Seconds that pass only when someone sleeps (as tests.clocked.SimulatedTime)."""

    def __init__(self) -> None:
        self.now = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += max(0.0, seconds)


def overhead(count: int = 200_000) -> tuple[float, float]:
    """Microseconds a request without and with the pacer in front of an instant `send`."""
    clock = SimulatedTime()
    pacer = RequestPacer(900, 100, max_wait=1e12, clock=clock, sleep=clock.sleep)
    start = time.perf_counter()
    for _ in range(count):
        (lambda request: ANSWER)(REQUEST)
    bare = (time.perf_counter() - start) / count * 1e6
    start = time.perf_counter()
    for _ in range(count):
        pacer.middleware(REQUEST, lambda request: ANSWER)
    return bare, (time.perf_counter() - start) / count * 1e6


def schedule(requests_sent: int) -> dict[str, float]:
    """When each of `requests_sent` requests sent one after another goes, at the default 720 a minute."""
    clock = SimulatedTime()
    pacer = RequestPacer(720, 50, max_wait=1e9, clock=clock, sleep=clock.sleep)
    sent: list[float] = []

    def send(request: HttpRequest) -> requests.Response:
        sent.append(clock())
        return ANSWER

    for _ in range(requests_sent):
        pacer.middleware(REQUEST, send)
    window = max(bisect.bisect_left(sent, moment + 60.0) - index for index, moment in enumerate(sent))
    minutes: dict[int, int] = {}
    for moment in sent:
        minutes[int(moment // 60)] = minutes.get(int(moment // 60), 0) + 1
    gaps = [later - earlier for earlier, later in itertools.pairwise(sent)]
    return {
        "seconds": sent[-1] - sent[0],
        "busiest 60 s window": float(window),
        "busiest calendar minute": float(max(minutes.values())),
        "longest gap (s)": max(gaps),
    }


def main() -> None:
    bare, paced = overhead()
    print(f"a request with an instant send: {bare:.2f} us bare, {paced:.2f} us through the pacer")
    for sent in (900, 3000):
        figures = schedule(sent)
        print(f"{sent} requests, 720/min: " + ", ".join(f"{k} {v:g}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
