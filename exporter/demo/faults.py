"""Injected failures of the fake GitHub, each imitating how GitHub (or the network) misbehaves."""

from __future__ import annotations

import re
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
]
BODY_KINDS = frozenset({"missing_fields", "nulls"})

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
    """

    kind: FaultKind
    path_regex: str = r".*"
    times: int | None = None
    status: int | None = None
    retry_after: int | None = None
    reset_in: int | None = None
    used: int = field(default=0, compare=False)

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
