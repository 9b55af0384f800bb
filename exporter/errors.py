"""Typed failures of a refresh, each with a bounded `reason` for metrics labels."""

from __future__ import annotations

from typing import Literal

Reason = Literal[
    "timeout",
    "connection",
    "rate_limited",
    "unauthorized",
    "not_found",
    "moved",
    "empty_repository",
    "server_error",
    "bad_response",
    "too_large",
    "client_error",
    "no_token",
    "metric_error",
    "shutdown",
]
REASONS: tuple[Reason, ...] = Reason.__args__  # type: ignore[attr-defined]


class SourceError(Exception):
    """Reading GitHub (or the token) failed; `reason` is one of REASONS, the message has no secret."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason: Reason = reason
