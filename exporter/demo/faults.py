"""Injected failures of the fake GitHub, each imitating how GitHub (or the network) misbehaves."""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

FaultKind = Literal[
    "status",
    "refuse",
    "hang",
    "truncated",
    "not_json",
    "missing_fields",
    "nulls",
    "unauthorized",
    "primary_rate_limit",
    "secondary_rate_limit",
    "too_many_requests",
    "not_found",
    "empty_repository",
    "moved",
    "gzip_bomb",
    "huge_body",
]
BODY_KINDS = frozenset({"missing_fields", "nulls"})
# A true answer padded with whitespace to `body_bytes` decoded bytes, streamed (never built whole).
BOMB_KINDS = frozenset({"gzip_bomb", "huge_body"})
BOMB_DEFAULT_BYTES = {"gzip_bomb": 1 << 30, "huge_body": 100 * 1000 * 1000}  # the figures
_CHUNK = 1 << 16

# Keys GitHub's schema requires and the exporter reads; "missing_fields" drops them from items.
REQUIRED_KEYS = (
    "conclusion",
    "status",
    "created_at",
    "head_branch",
    "name",
    "commit",
    "parents",
    "run_attempt",
)
# Keys "nulls" keeps, so that a client can still tell the items apart and follow their links.
KEPT_KEYS = frozenset({"id", "node_id", "sha", "url", "jobs_url", "html_url"})


@dataclass
class Fault:
    """A failure for requests whose path (no query) matches `path_regex`, `times` times (None = forever).

    `status` is the code of a "status" fault; `retry_after` adds a Retry-After header (rate-limit kinds);
    `reset_in` is how many seconds ahead X-RateLimit-Reset lies for "primary_rate_limit" (default 60).
    `body_bytes` is the decoded size of a "gzip_bomb" (default 1 GiB, about 1 MB on the wire) or a
    "huge_body" (default 100 MB) answer.
    """

    kind: FaultKind
    path_regex: str = r".*"
    times: int | None = None
    status: int | None = None
    retry_after: int | None = None
    reset_in: int | None = None
    used: int = field(default=0, compare=False)
    body_bytes: int | None = None

    def __post_init__(self) -> None:
        if self.kind == "status" and self.status is None:
            raise ValueError("Fault(kind='status') needs status=<code>")
        re.compile(self.path_regex)

    def applies_to(self, path: str) -> bool:
        if self.times is not None and self.used >= self.times:
            return False
        if self.kind == "moved" and not path.startswith("/repos/"):
            return False
        return re.search(self.path_regex, path) is not None


def items_of(body: Any) -> list[dict[str, Any]]:
    """The objects a body carries: the list's items, or the single object itself."""
    if isinstance(body, list):
        return [item for item in body if isinstance(item, dict)]
    if isinstance(body, dict):
        for key in ("workflow_runs", "jobs"):
            if isinstance(body.get(key), list):
                return list(body[key])
        return [body]
    return []


def damage(kind: str, body: Any) -> None:
    """Apply a body fault in place: drop required keys, or set item fields to null."""
    for item in items_of(body):
        if kind == "missing_fields":
            for key in REQUIRED_KEYS:
                item.pop(key, None)
        elif kind == "nulls":
            for key in item:
                if key not in KEPT_KEYS:
                    item[key] = None


def bomb(kind: str, body: bytes, size: int) -> tuple[dict[str, str], Iterator[bytes]]:
    """Headers and chunks of `body` padded with spaces after its first byte to `size` decoded bytes
    (still the same JSON): "huge_body" plain with a Content-Length, "gzip_bomb" gzip-encoded on the
    fly (about 1000:1), for chunked transfer. Memory stays at one chunk whatever the size."""
    padding = max(size - len(body), 0)
    if kind == "huge_body":
        return {"Content-Length": str(len(body) + padding)}, _padded(body, padding)
    return {"Content-Encoding": "gzip", "Transfer-Encoding": "chunked"}, _gzipped(_padded(body, padding))


def _padded(body: bytes, padding: int) -> Iterator[bytes]:
    yield body[:1]
    spaces = b" " * _CHUNK
    for _ in range(padding // _CHUNK):
        yield spaces
    yield spaces[: padding % _CHUNK] + body[1:]


def _gzipped(chunks: Iterator[bytes]) -> Iterator[bytes]:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    for chunk in chunks:
        out = compressor.compress(chunk)
        if out:
            yield out
    yield compressor.flush()
