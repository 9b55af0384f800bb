"""Facts GitHub will never change, fetched once and kept: a bounded, thread-safe LRU.

The jobs of a finished run attempt, the conclusion of an earlier attempt, a deployment's terminal
state, the commits between two SHAs: once GitHub has said them they stay true, so asking again
(even conditionally, at no rate-limit point) only spends secondary-limit points and time. Only
facts go in: a caller stores an answer only when it is final (a completed attempt, a terminal
deployment state), never an answer that may still change. Bounded in entries; the least recently
used fact is dropped first and would simply be fetched again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")
DEFAULT_MAX_ENTRIES = 50_000  # a few hundred bytes each: tens of MiB at most


class FactStore:
    """Immutable facts by key, least recently used dropped past `max_entries`."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError("a fact store keeps at least one entry")
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> object | None:
        """The fact stored under `key`, or None."""
        with self._lock:
            if key not in self._entries:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return self._entries[key]

    def put(self, key: Hashable, fact: object) -> None:
        """Keep `fact` (never None) under `key`."""
        if fact is None:
            raise ValueError("a fact store does not keep None: None means 'not known'")
        with self._lock:
            self._entries[key] = fact
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def remember(self, key: Hashable, fetch: Callable[[], T], final: Callable[[T], bool]) -> T:
        """The stored fact, or `fetch()` stored when `final(answer)` says it can no longer change."""
        known = self.get(key)
        if known is not None:
            return known  # type: ignore[return-value]
        answer = fetch()
        if answer is not None and final(answer):
            self.put(key, answer)
        return answer

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
