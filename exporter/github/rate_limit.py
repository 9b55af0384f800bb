"""GitHub's rate limits, as GitHub reports them: observed on every answer, obeyed before every request.

GitHub counts requests per token (per IP without one) and says so on each answer
(`x-ratelimit-limit`, `-remaining`, `-reset`, `-used`). Past the primary limit it answers 403 until
the reset; for too many requests at once (the secondary limit) it answers 403 or 429, usually with
`Retry-After`, and advises waiting at least a minute when that header is missing. GitHub may ban a
client that keeps asking while limited.

`RateLimitState` is a `transport` middleware shared by every refresh of one source. It never
sleeps: a request made while GitHub asked us to wait, or while fewer than the reserve of requests
are left before the reset, fails at once with `SourceError("rate_limited")`, so that series keep
their last values and the next refresh after the wait proceeds. The reserve leaves requests for
the token's other users; it is capped at a tenth of the limit so that an anonymous exporter
(60 requests an hour) can still spend some.
"""

from __future__ import annotations

import email.utils
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import requests

from exporter.errors import SourceError
from exporter.github.transport import HttpRequest, Send

logger = logging.getLogger(__name__)

# GitHub: "If no retry-after header is present, wait for at least one minute before retrying."
DEFAULT_WAIT_SECONDS = 60.0
# A longer Retry-After than a whole primary window is not GitHub's; wait a window and ask again.
MAX_WAIT_SECONDS = 3600.0
_CORE = frozenset({"", "core"})


@dataclass(frozen=True)
class RateLimitSnapshot:
    """The primary (core) limit as GitHub last reported it; None where it has not said yet."""

    limit: int | None = None
    remaining: int | None = None
    reset: float | None = None  # Unix time the window resets
    used: int | None = None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """Seconds a `Retry-After` header asks for (delta-seconds or an HTTP date); None if absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, moment.timestamp() - now)


def _is_rate_limit_answer(response: requests.Response) -> bool:
    """A 429, or a 403 that GitHub marks as a rate limit (headers or message), not a plain "forbidden"."""
    if response.status_code == 429:
        return True
    if response.status_code != 403:
        return False
    headers = response.headers
    if "retry-after" in headers or headers.get("x-ratelimit-remaining") == "0":
        return True
    try:
        return "rate limit" in response.text[:2000].lower()
    except (requests.RequestException, UnicodeError, ValueError):
        return False


def _clock_text(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class RateLimitState:
    """What GitHub said about our request budget, and whether a request may go out now (thread-safe)."""

    def __init__(self, reserve: int, clock: Callable[[], float] = time.time) -> None:
        self.reserve = reserve
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshot = RateLimitSnapshot()
        self._wait_until: float | None = None  # from Retry-After, or a minute after a secondary limit

    def snapshot(self) -> RateLimitSnapshot:
        """The core limit as last reported."""
        with self._lock:
            return self._snapshot

    @property
    def wait_until(self) -> float | None:
        """Unix time before which no request goes out (a secondary limit or Retry-After), if any."""
        with self._lock:
            return self._wait_until

    def effective_reserve(self, limit: int | None) -> int:
        """The reserve, capped at a tenth of the limit."""
        return self.reserve if limit is None else min(self.reserve, limit // 10)

    def refusal(self) -> SourceError | None:
        """Why no request may go out now, or None when one may."""
        now = self._clock()
        with self._lock:
            wait_until, snap = self._wait_until, self._snapshot
        if wait_until is not None and now < wait_until:
            return SourceError(
                "rate_limited",
                f"GitHub asked the exporter to slow down; no request before {_clock_text(wait_until)}",
            )
        if snap.remaining is None or snap.reset is None or now >= snap.reset:
            return None
        reserve = self.effective_reserve(snap.limit)
        if snap.remaining < max(reserve, 1):
            return SourceError(
                "rate_limited",
                f"{snap.remaining} of {snap.limit} GitHub requests left (reserve {reserve}); "
                f"waiting for the reset at {_clock_text(snap.reset)}",
            )
        return None

    def observe(self, response: requests.Response) -> None:
        """Record the rate-limit headers of one answer, and any wait it asks for."""
        headers: Mapping[str, str] = response.headers
        now = self._clock()
        with self._lock:
            if headers.get("x-ratelimit-resource", "") in _CORE and "x-ratelimit-remaining" in headers:
                previous = self._snapshot
                reset = _int(headers.get("x-ratelimit-reset"))
                self._snapshot = RateLimitSnapshot(
                    limit=_int(headers.get("x-ratelimit-limit")) or previous.limit,
                    remaining=_int(headers.get("x-ratelimit-remaining")),
                    reset=float(reset) if reset is not None else previous.reset,
                    used=_int(headers.get("x-ratelimit-used")),
                )
            if not _is_rate_limit_answer(response):
                return
            wait = retry_after_seconds(headers.get("retry-after"), now)
            if wait is None and self._snapshot.remaining != 0:
                wait = DEFAULT_WAIT_SECONDS  # a secondary limit without Retry-After
            if wait is not None:
                until = now + min(wait, MAX_WAIT_SECONDS)
                self._wait_until = max(until, self._wait_until or until)
                logger.debug("GitHub answered %d: no request before %s", response.status_code, _clock_text(until))

    def middleware(self, request: HttpRequest, send: Send) -> requests.Response:
        """`transport` middleware: refuse while GitHub asked to wait, else send and observe."""
        refused = self.refusal()
        if refused is not None:
            raise refused
        response = send(request)
        self.observe(response)
        return response
