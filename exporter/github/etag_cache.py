"""Conditional requests under PyGithub: a bounded ETag cache as a `transport` middleware.

GitHub charges no primary rate-limit point for a `304 Not Modified` answer to a conditional
request, but PyGithub sends `If-None-Match` only from `update()`, never on lists. This middleware
remembers the body and ETag of each `200` GET and sends the ETag the next time the same URL is
asked for by the same token; a `304` is handed to PyGithub as the remembered `200`, with the fresh
headers of the `304` (rate limit, request id) laid over the stored ones.

Why our own and not requests-cache: requests-cache works by owning the `requests.Session`
(`CachedSession`), but our sessions are pooled per host in `transport` and shared by every source
in the process, and everything else we do per request (tracing, and any future observer) is a
middleware at that seam; a cache below the seam would hide 304s from them and need `transport`
rebuilt around it. Its in-memory backend is an unbounded dict (the bounded ones are SQLite, Redis
and so on: files or servers we do not want), it leaves `Authorization` out of cache keys by default
(two tokens would share entries unless configured otherwise) and it would add four dependencies.
What we need is about 150 lines: an LRU bounded in entries and in bytes, keyed by method,
URL, `Accept` and a keyed hash of `Authorization` (the token itself is never stored or logged), with
bodies stored zlib-compressed (GitHub's JSON shrinks about tenfold).

Only answers GitHub marks as reusable are stored: status 200 with an ETag and no `no-store`.
Failures are never served from the cache: a 5xx or a timeout reaches PyGithub as it happened.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import secrets
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass

import requests
from requests.structures import CaseInsensitiveDict

from exporter.github.transport import HttpRequest, Send
from exporter.settings import Settings

logger = logging.getLogger(__name__)

# Set on a response rebuilt from the cache, so that observers (tracing) can tell a 304 happened.
CACHE_HEADER = "X-Exporter-Cache"
REVALIDATED = "revalidated"
NO_STORE = "no-store"  # a request's `Cache-Control` with it passes through unstored
_NOT_STORED = frozenset(
    {"content-length", "content-encoding", "transfer-encoding", "connection", "keep-alive", "set-cookie"}
)
_CONDITIONAL = ("if-none-match", "if-modified-since")
_ENTRY_OVERHEAD = 256  # bytes of bookkeeping counted for each entry beyond its body and headers


@dataclass(frozen=True)
class _Entry:
    etag: str
    headers: tuple[tuple[str, str], ...]
    body: bytes  # zlib-compressed
    size: int


@dataclass(frozen=True)
class CacheStats:
    """Counters since start and the cache's current size."""

    revalidated: int  # conditional requests GitHub answered 304 (no point charged)
    changed: int  # conditional requests GitHub answered 200 (the resource changed)
    unconditional: int  # requests sent with nothing cached for them
    stored: int
    evicted: int
    entries: int
    bytes: int


class ConditionalRequests:
    """`transport` middleware: conditional GETs from an LRU cache of 200 answers with an ETag."""

    def __init__(self, max_entries: int = 10_000, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[str, ...], _Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._salt = secrets.token_bytes(16)  # per process: hashes of a token are useless elsewhere
        self._counts = {"revalidated": 0, "changed": 0, "unconditional": 0, "stored": 0, "evicted": 0}

    @classmethod
    def from_settings(cls, settings: Settings) -> ConditionalRequests | None:
        """The cache EXPORTER_CONDITIONAL_REQUESTS asks for, or None when it is off."""
        if not settings.conditional_requests:
            return None
        return cls(settings.http_cache_max_entries, settings.http_cache_max_bytes)

    def __call__(self, request: HttpRequest, send: Send) -> requests.Response:
        headers = {name.lower(): value for name, value in request.headers.items()}
        if request.method != "GET" or any(name in headers for name in _CONDITIONAL):
            return send(request)  # the caller's own conditional request (PyGithub's update()) passes through
        if NO_STORE in headers.get("cache-control", ""):
            return send(request)  # the caller keeps what it needs of the answer (the CI runs: exporter/github/held.py)
        key = self._key(request.method, request.url, headers)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
        if entry is not None:
            request = dataclasses.replace(request, headers={**request.headers, "If-None-Match": entry.etag})
        response = send(request)
        if entry is not None and response.status_code == 304:
            self._count("revalidated")
            return self._rebuilt(entry, response)
        self._count("unconditional" if entry is None else "changed")
        if response.status_code == 200:
            self._store(key, response)
        return response

    def stats(self) -> CacheStats:
        """A snapshot of the counters and the size."""
        with self._lock:
            return CacheStats(**self._counts, entries=len(self._entries), bytes=self._bytes)

    def clear(self) -> None:
        """Forget every entry (counters are kept)."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def _key(self, method: str, url: str, headers: dict[str, str]) -> tuple[str, ...]:
        auth = headers.get("authorization", "").encode()
        who = hashlib.blake2b(auth, key=self._salt, digest_size=16).hexdigest()
        return (method, url, headers.get("accept", ""), who)

    def _count(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1

    def _store(self, key: tuple[str, ...], response: requests.Response) -> None:
        etag = response.headers.get("etag")
        reusable = etag is not None and "no-store" not in response.headers.get("cache-control", "").lower()
        entry = None
        if reusable and etag is not None:
            kept = tuple((name, value) for name, value in response.headers.items() if name.lower() not in _NOT_STORED)
            body = zlib.compress(response.content, 6)
            size = len(body) + sum(len(n) + len(v) for n, v in kept) + len(key[1]) + _ENTRY_OVERHEAD
            entry = _Entry(etag, kept, body, size) if size <= self.max_bytes else None
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.size
            if entry is None:
                return
            self._entries[key] = entry
            self._bytes += entry.size
            self._counts["stored"] += 1
            first_eviction = not self._counts["evicted"]
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= evicted.size
                self._counts["evicted"] += 1
            if first_eviction and self._counts["evicted"]:
                logger.warning(
                    "the HTTP cache is full (%d entries, %d bytes): it now forgets the least recently used "
                    "answers, and a request for one costs a rate-limit point again; at organisation scale allow "
                    "about 6 entries and 12 KiB a repository (EXPORTER_HTTP_CACHE_MAX_ENTRIES, "
                    "EXPORTER_HTTP_CACHE_MAX_BYTES)",
                    self.max_entries,
                    self.max_bytes,
                )

    @staticmethod
    def _rebuilt(entry: _Entry, not_modified: requests.Response) -> requests.Response:
        """The stored 200, under the 304's fresh headers (RFC 9111 §4.3.4)."""
        body = zlib.decompress(entry.body)
        headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(dict(entry.headers))
        for name, value in not_modified.headers.items():
            if name.lower() not in _NOT_STORED:
                headers[name] = value
        headers["Content-Length"] = str(len(body))
        headers[CACHE_HEADER] = REVALIDATED
        response = requests.Response()
        response.status_code = 200
        response.reason = "OK"
        response.headers = headers
        response._content = body
        response.url = not_modified.url
        response.request = not_modified.request
        response.elapsed = not_modified.elapsed
        response.encoding = requests.utils.get_encoding_from_headers(headers) or "utf-8"
        not_modified.close()
        return response
