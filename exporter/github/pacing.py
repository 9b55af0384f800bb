"""GitHub's secondary limits, kept by pacing: points a minute spread evenly, and requests at once capped.

GitHub allows one identity at most 900 REST points a minute (a GET is one point, a 304 too) and 100
concurrent requests; past either it answers 403 or 429. `RequestPacer` is a `transport` middleware
shared by every thread of one source (discovery included). Each request first takes one of
`max_in_flight` slots (EXPORTER_GITHUB_MAX_IN_FLIGHT), held until its answer is read, then books its
turn in an even schedule of `points_per_minute` (P, EXPORTER_GITHUB_POINTS_PER_MINUTE): one turn every
60/P seconds, with up to `burst` turns at once after a pause (default P/60, one second's worth).

The bound, burst included: **no 60-second window [t, t + 60) holds more than P turns**, since a turn
is never booked less than 60 s after the P-th turn before it. So GitHub's minutes (and the fake's)
see at most P of our points, plus whatever urllib3's retries of a 5xx or a followed redirect add on
their request's turn.

Turns are booked first come, first served, so a request knows at once when it would go: when that
is past the time it has left (the refresh deadline, `transport.time_left`, or else `max_wait`) it
fails at once with `SourceError("timeout")` naming the setting. The source's `stopping` event ends a
wait (`shutdown`): at once for a turn, within POLL_SECONDS for a slot. Time is injected: on a virtual
clock whose `sleep(d)` moves it on by `d`, nothing waits for real.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import requests

from exporter.errors import SourceError
from exporter.github import transport
from exporter.github.transport import HttpRequest, Send

POLL_SECONDS = 0.05  # how often a request waiting for a slot looks at `stopping` and its deadline
WINDOW_SECONDS = 60.0
_ROUNDING = 1e-9  # seconds: a turn this close to now is now


@dataclass(frozen=True)
class PacingStats:
    """What the pacer did since start."""

    requests: int = 0  # let through to GitHub
    paced: int = 0  # of those, the ones that waited for a slot or a turn
    wait_seconds: float = 0.0  # the time they waited, in all
    refused: int = 0  # requests that could not get a slot or a turn in their time (timeout)
    in_flight: int = 0  # slots held now (a request holds its slot from its turn's booking to its answer)
    peak_in_flight: int = 0
    waiting: int = 0  # requests waiting now, for a slot or for their turn


class RequestPacer:
    """Holds each GitHub request until a slot is free and its turn comes (thread-safe)."""

    def __init__(
        self,
        points_per_minute: int,
        max_in_flight: int,
        max_wait: float,
        *,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
        stopping: threading.Event | None = None,
        recheck: Callable[[], SourceError | None] | None = None,
    ) -> None:
        if points_per_minute < 1 or max_in_flight < 1 or max_wait < 0:
            raise ValueError(f"pacing needs positive bounds, not {points_per_minute}/min, {max_in_flight} at once")
        self.points_per_minute = points_per_minute
        self.max_in_flight = max_in_flight
        self.max_wait = max_wait
        self.burst = max(1, min(points_per_minute, burst if burst is not None else points_per_minute // 60))
        self._interval = WINDOW_SECONDS / points_per_minute
        self._clock = clock
        self._stopping = stopping if stopping is not None else threading.Event()
        # Without an injected sleep, wait on the stopping event: a shutdown ends the wait at once.
        self._sleep = sleep if sleep is not None else self._stopping.wait
        self._recheck = recheck  # asked again after a wait
        self._lock = threading.Condition()
        self._turns: deque[float] = deque(maxlen=points_per_minute)  # the last P turns booked
        self._next = -math.inf  # GCRA's theoretical time of the next turn
        self._sent = self._paced = self._refused = self._in_flight = self._peak = self._waiting = 0
        self._waited = 0.0

    def stats(self) -> PacingStats:
        """The counters now."""
        with self._lock:
            return PacingStats(
                self._sent, self._paced, self._waited, self._refused, self._in_flight, self._peak, self._waiting
            )

    def _turn_after(self, now: float) -> float:
        turn = self._next - (self.burst - 1) * self._interval
        turn = now if turn < now + _ROUNDING else turn  # sums of 60/P drift by an ulp or so
        if len(self._turns) == self.points_per_minute:
            turn = max(turn, self._turns[0] + WINDOW_SECONDS)  # the P-th turn back is a minute old
        return max(turn, self._turns[-1]) if self._turns else turn

    def middleware(self, request: HttpRequest, send: Send) -> requests.Response:
        """`transport` middleware: wait for a slot and a turn (bounded), then send."""
        started = self._clock()
        left = transport.time_left()
        limit = started + max(0.0, min(self.max_wait, left) if left is not None else self.max_wait)
        paced = self._take_slot(limit)
        try:
            turn = self._book(limit)
            if turn > self._clock():
                paced = True
                self._count_waiting(+1)
                try:
                    self._sleep(turn - self._clock())
                finally:
                    self._count_waiting(-1)
            if paced:  # a wait may have been ended by a shutdown, or GitHub may have said "slow down" meanwhile
                if self._stopping.is_set():
                    raise _shutdown()
                refused = self._recheck() if self._recheck is not None else None
                if refused is not None:
                    raise refused
            with self._lock:
                self._sent += 1
                if paced:
                    self._paced += 1
                    self._waited += max(0.0, self._clock() - started)
            return send(request)
        finally:
            with self._lock:
                self._in_flight -= 1
                self._lock.notify()

    def _count_waiting(self, change: int) -> None:
        with self._lock:
            self._waiting += change

    def _take_slot(self, limit: float) -> bool:
        """Take a slot, waiting until `limit` at most; True when it had to wait."""
        with self._lock:
            if self._in_flight < self.max_in_flight:
                self._in_flight += 1
                self._peak = max(self._peak, self._in_flight)
                return False
            self._waiting += 1
            try:
                while self._in_flight >= self.max_in_flight:
                    if self._stopping.is_set():
                        raise _shutdown()
                    remaining = limit - self._clock()
                    if remaining <= 0:
                        self._refused += 1
                        raise SourceError(
                            "timeout",
                            f"no GitHub request slot came free in time: {self.max_in_flight} requests in flight "
                            "(EXPORTER_GITHUB_MAX_IN_FLIGHT)",
                        )
                    self._lock.wait(min(remaining, POLL_SECONDS))
            finally:
                self._waiting -= 1
            self._in_flight += 1
            self._peak = max(self._peak, self._in_flight)
            return True

    def _book(self, limit: float) -> float:
        """Book the next turn, or fail at once when it would have to wait past `limit` (a turn that is
        now is never refused here: the deadline itself is the refresh's to enforce)."""
        with self._lock:
            now = self._clock()
            turn = self._turn_after(now)
            if turn > now and turn > limit:
                self._refused += 1
                raise SourceError(
                    "timeout",
                    f"the next GitHub request turn is {turn - now:.1f}s away, past this request's time "
                    f"({max(0.0, limit - now):.1f}s left): pacing at {self.points_per_minute} points a minute "
                    "(EXPORTER_GITHUB_POINTS_PER_MINUTE)",
                )
            self._next = max(self._next, turn) + self._interval
            self._turns.append(turn)
            return turn


def _shutdown() -> SourceError:
    return SourceError("shutdown", "the exporter is shutting down: no further request to GitHub")
