"""POST /webhook: GitHub webhook deliveries, verified, that mark their repository changed.

A delivery only says which repository to read again: the payload's values are never used. It must be
signed with EXPORTER_WEBHOOK_SECRET (`X-Hub-Signature-256: sha256=<hex HMAC of the raw body>`, compared in
constant time), at most EXPORTER_WEBHOOK_MAX_BYTES long (refused before reading past the limit) and not a
`X-GitHub-Delivery` id seen recently. Polling stays the safety net: a lost delivery only delays a change
until the cache's TTL ends.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Protocol

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from pydantic import SecretStr

from exporter.changes import EVENT_KINDS, Kind

logger = logging.getLogger(__name__)

EVENTS = frozenset(EVENT_KINDS)  # what changes a metric
OUTCOMES = ("accepted", "ignored", "bad_signature", "unsigned", "too_large", "replayed", "malformed")
SEEN_MAX_IDS = 10_000
SEEN_SECONDS = 24 * 3600.0
_MAX_ID_CHARS = 100  # a GUID is 36; anything longer is not GitHub's


class ChangeSink(Protocol):
    """What the receiver tells: the collector (`HealthCollector`) in the exporter."""

    def watches(self, repo: str) -> bool: ...

    def mark_changed(self, repo: str, kinds: Iterable[Kind]) -> None: ...

    def record_delivery(self, event: str, outcome: str) -> None: ...


class SeenDeliveries:
    """The delivery ids of recent verified deliveries: at most `max_ids`, each forgotten after `seconds`."""

    def __init__(self, max_ids: int, seconds: float, monotonic: Callable[[], float]) -> None:
        self._max_ids = max_ids
        self._seconds = seconds
        self._monotonic = monotonic
        self._ids: OrderedDict[str, float] = OrderedDict()  # oldest first
        self._lock = threading.Lock()

    def first_time(self, delivery: str) -> bool:
        """Record `delivery`; False when it was already seen (and is still remembered)."""
        now = self._monotonic()
        with self._lock:
            ids = self._ids
            while ids and (len(ids) >= self._max_ids or now - next(iter(ids.values())) > self._seconds):
                ids.popitem(last=False)
            if delivery in self._ids:
                return False
            self._ids[delivery] = now
            return True


class _TooLarge(Exception):
    pass


class WebhookReceiver:
    """The /webhook endpoint: verifies a delivery, then marks its repository changed in `sink`."""

    def __init__(
        self, secret: SecretStr, max_bytes: int, sink: ChangeSink, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._key = secret.get_secret_value().encode()
        self._max_bytes = max_bytes
        self._sink = sink
        self._seen = SeenDeliveries(SEEN_MAX_IDS, SEEN_SECONDS, monotonic)

    async def handle(self, request: Request) -> Response:
        """Answer one delivery: 202 accepted or ignored, 200 for a ping, else the refusal's status."""
        header = request.headers.get("x-github-event", "")
        event = header if header in EVENTS or header == "ping" else "other"
        signature = request.headers.get("x-hub-signature-256", "")
        if not signature:
            return self._answer(event, "unsigned", 401, "a delivery must be signed (X-Hub-Signature-256)")
        try:
            body = await self._body(request)
        except _TooLarge:
            return self._answer(event, "too_large", 413, f"a delivery is at most {self._max_bytes} bytes")
        expected = "sha256=" + hmac.new(self._key, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            return self._answer(event, "bad_signature", 401, "the signature does not match the body")
        delivery = request.headers.get("x-github-delivery", "").strip()
        if not delivery or len(delivery) > _MAX_ID_CHARS:
            return self._answer(event, "malformed", 400, "a delivery has an X-GitHub-Delivery id")
        if not self._seen.first_time(delivery):
            return self._answer(event, "replayed", 409, "this delivery was already received")
        if event == "ping":
            return self._answer(event, "accepted", 200, "pong")
        if event == "other":
            return self._answer(event, "ignored", 202, "this event does not change a metric")
        repo = _repository(body)
        if repo is None:
            return self._answer(event, "malformed", 400, "expected a JSON object with repository.full_name")
        if not self._sink.watches(repo):
            return self._answer(event, "ignored", 202, "not a repository this exporter watches")
        self._sink.mark_changed(repo, EVENT_KINDS[event])
        logger.info("webhook %s for %s: %s read at the next scrape", event, repo, "/".join(sorted(EVENT_KINDS[event])))
        return self._answer(event, "accepted", 202, "marked changed: refreshed at the next scrape")

    async def _body(self, request: Request) -> bytes:
        """The raw body, never reading more than the limit (a declared length over it is refused unread)."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_bytes:
            raise _TooLarge
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self._max_bytes:
                raise _TooLarge
            chunks.append(chunk)
        return b"".join(chunks)

    def _answer(self, event: str, outcome: str, status: int, message: str) -> JSONResponse:
        self._sink.record_delivery(event, outcome)
        key = "status" if status < 400 else "error"
        return JSONResponse({key: message}, status_code=status)


def _repository(body: bytes) -> str | None:
    """`repository.full_name` of a JSON payload when it is an owner/name string, else None."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return None
    repository = payload.get("repository") if isinstance(payload, dict) else None
    name = repository.get("full_name") if isinstance(repository, dict) else None
    if not isinstance(name, str) or name.count("/") != 1 or len(name) > 140:
        return None
    return name


async def not_configured(_request: Request) -> Response:
    """/webhook while EXPORTER_WEBHOOK_SECRET is unset."""
    return JSONResponse({"error": "webhooks are not configured (EXPORTER_WEBHOOK_SECRET)"}, status_code=404)
