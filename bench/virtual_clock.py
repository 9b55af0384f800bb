"""A simulated clock that one benchmark shares between processes: the fake GitHub's and the exporter's.

Unix time in a `multiprocessing.Value` (shared memory, with its lock), so a fake GitHub forked into a
child process reads the very same number as the exporter in the parent, for the cost of a lock.
Time moves only when someone moves it, and only forward: the bench, to an interval's end, and (once
the exporter paces its requests) the pacer's `sleep`, which is `advance_to(now + seconds)`. Threads
sleeping at once overlap as they would on a real clock: each moves time to its own wake-up (counted from
its own last reading), never back.
"""

from __future__ import annotations

import multiprocessing
import threading
from datetime import UTC, datetime
from multiprocessing.context import ForkContext


class VirtualClock:
    """Seconds since the epoch that only `advance_to` (or `sleep`) moves; safe across threads and forks."""

    def __init__(self, start: float, context: ForkContext | None = None) -> None:
        self.context = context or multiprocessing.get_context("fork")  # the child sharing it is forked
        self._value = self.context.Value("d", float(start))
        self._read = threading.local()  # what each thread read last: `sleep` counts from there

    def __call__(self) -> float:
        """Now, as Unix time (the exporter's `wall` and `monotonic`)."""
        with self._value.get_lock():
            now = float(self._value.value)
        self._read.now = now
        return now

    def datetime(self) -> datetime:
        """Now, as an aware UTC datetime (the fake GitHub's `clock`, the refresher's `clock`)."""
        return datetime.fromtimestamp(self(), UTC)

    def advance_to(self, moment: float) -> float:
        """Move to `moment` unless time is already past it; return now."""
        with self._value.get_lock():
            if moment > self._value.value:
                self._value.value = float(moment)
            return float(self._value.value)

    def sleep(self, seconds: float) -> None:
        """A `sleep` for injection: returns at once, having moved time to `seconds` after what this thread last
        read (if nobody did). A sleeper computes `seconds` from its own reading (the pacer: its turn less
        now); counting from the clock as it is by then instead would add one thread's wait on top of
        another's, and time would run ahead of the requests."""
        if seconds > 0:
            read = getattr(self._read, "now", None)
            self.advance_to((read if read is not None else self()) + seconds)
