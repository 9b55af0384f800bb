"""The HTTP service: /metrics for the agent and browsers, /refresh to recompute now, /healthz, and the status
page for people (`/`, `/status.json`, its assets, the catalog and the README)."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import importlib.metadata
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import anyio
from fastapi import FastAPI, Request, Response
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from exporter import __version__
from exporter.collector import HealthCollector
from exporter.refresh import RefreshResult
from exporter.settings import Settings
from exporter.web import assets, status_html, webhooks
from exporter.web.status_page import as_json, status_page

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
}
# The status page runs its own script and style only: no inline code, no other origin.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# Scrapes of a stale cache wait on a refresh in threads; a generous limiter keeps many concurrent clients from
# queueing behind the default 40 worker threads (each wait is bounded by the scrape wait).
_SCRAPE_THREADS = 256


MAX_QUERY_BYTES = 4096
MAX_HEADER_BYTES = 16384


class RequestLimits:
    """Refuses oversized requests before any route runs: 414 for a long query, 431 for big headers."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refused: tuple[int, str] | None = None
            if len(scope.get("query_string", b"")) > MAX_QUERY_BYTES:
                refused = (414, f"query string longer than {MAX_QUERY_BYTES} bytes")
            elif sum(len(k) + len(v) for k, v in scope.get("headers", [])) > MAX_HEADER_BYTES:
                refused = (431, f"request headers larger than {MAX_HEADER_BYTES} bytes")
            if refused is not None:
                response = JSONResponse({"error": refused[1]}, status_code=refused[0])
                await response(scope, receive, send)
                return
        await self._app(scope, receive, send)


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every answer that does not set them itself (plain ASGI: no
    BaseHTTPMiddleware task and stream per request on the scrape path)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self._app(scope, receive, send_with_headers)


def refresh_report(result: RefreshResult) -> dict[str, Any]:
    """Every value, per-repository errors and timings of one refresh, as JSON-ready data."""
    repos: dict[str, dict[str, Any]] = {}
    for series in result.series:
        repo = repos.setdefault(
            series.repo, {"seconds": round(result.repo_seconds.get(series.repo, 0.0), 4), "metrics": {}}
        )
        entry: dict[str, Any] = {"value": series.value, "labels": dict(series.labels)}
        if not series.ok:
            entry["error"] = {"reason": series.reason, "message": series.error}
        repo["metrics"][series.key] = entry
    return {
        "started_at": result.started_at.isoformat(),
        "seconds": round(result.seconds, 4),
        "failed": len(result.failed),
        "repositories": repos,
    }


_STOP_POLL_SECONDS = 0.1


def _shutting_down() -> JSONResponse:
    return JSONResponse({"error": "the exporter is shutting down"}, status_code=503)


async def _refresh_unless_stopping(
    future: Future[RefreshResult], stopping: threading.Event, timeout: float
) -> RefreshResult | None:
    """The refresh's result; None once `stopping` is set (the server's shutdown has begun) while it
    still runs, so that the client has its answer within uvicorn's grace. Raises TimeoutError after
    `timeout`. `stopping` is a thread's event: it is looked at every _STOP_POLL_SECONDS (uvicorn's
    own tick) rather than given a waiting thread per request."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + timeout
    waiting = asyncio.shield(asyncio.wrap_future(future))  # cancelled below, never the refresh itself
    try:
        while not waiting.done():
            if stopping.is_set():
                return None
            if loop.time() >= give_up:
                raise TimeoutError
            await asyncio.wait({waiting}, timeout=min(_STOP_POLL_SECONDS, give_up - loop.time()))
        return waiting.result()
    finally:
        waiting.cancel()


def _readme() -> str | None:
    """The README as installed with the package (its long description), None when it is not there."""
    try:
        metadata = importlib.metadata.metadata("system-health-exporter")
    except importlib.metadata.PackageNotFoundError:
        return None
    payload = metadata.get_payload()  # type: ignore[attr-defined]
    return payload if isinstance(payload, str) and payload.strip() else None


class _RefreshGate:
    """Who may force a refresh, and how often: an optional bearer token and a cooldown."""

    def __init__(self, settings: Settings, monotonic: Callable[[], float]) -> None:
        token = settings.refresh_token
        self._expected = token.get_secret_value().encode() if token is not None else None
        self._interval = settings.refresh_min_interval_seconds
        self._monotonic = monotonic
        self._last: float | None = None
        self._lock = threading.Lock()

    def refuse(self, authorization: str | None, joining: bool) -> JSONResponse | None:
        """None when the caller may go on (and the cooldown starts), else the answer to send."""
        if self._expected is not None and not hmac.compare_digest(self._bearer(authorization), self._expected):
            return JSONResponse(
                {"error": "a valid bearer token is required (EXPORTER_REFRESH_TOKEN)"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="refresh"'},
            )
        with self._lock:
            now = self._monotonic()
            if joining:
                return None  # a running refresh is joined, never repeated
            if self._last is not None and now - self._last < self._interval:
                wait = math.ceil(self._interval - (now - self._last))
                return JSONResponse(
                    {"error": f"refreshed less than {self._interval:g}s ago; retry in {wait}s"},
                    status_code=429,
                    headers={"Retry-After": str(wait)},
                )
            self._last = now
        return None

    @staticmethod
    def _bearer(authorization: str | None) -> bytes:
        """The credentials of `Authorization: Bearer …` (the scheme in any case, RFC 7235), else b""."""
        scheme, _, credentials = (authorization or "").strip().partition(" ")
        return credentials.strip().encode() if scheme.lower() == "bearer" else b""


def create_app(
    settings: Settings,
    collector: HealthCollector,
    registry: CollectorRegistry,
    monotonic: Callable[[], float] = time.monotonic,
) -> FastAPI:
    """The FastAPI app over an already wired collector and the registry it is registered in.

    /metrics serves the collector's own rendered exposition: byte for byte what `generate_latest(registry)`
    writes while the collector is the registry's only one, as `exporter.cli.build` wires it."""
    app = FastAPI(title="system-health-exporter", version=__version__, docs_url=None, redoc_url=None)
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(RequestLimits)
    app.add_middleware(SecurityHeaders)
    limiter = anyio.CapacityLimiter(_SCRAPE_THREADS)

    static = assets.load()

    @app.get("/", response_class=HTMLResponse)
    async def index() -> HTMLResponse:
        # As a scrape would, a stale cache is refreshed first, waiting at most EXPORTER_SCRAPE_WAIT_SECONDS;
        # past that the page shows what there is and says a refresh is running.
        pending = collector.refresh_if_stale()
        if pending is not None:
            with contextlib.suppress(Exception):  # a timeout, or a failed refresh (logged by the collector)
                await _refresh_unless_stopping(pending, collector.stopping, settings.scrape_wait_seconds)
        page = status_page(collector.snapshot, collector.metrics, settings, collector.now(), collector.refreshing)
        body = status_html.render(page, static["status.css"].url, static["status.js"].url)
        return HTMLResponse(body, headers={"Content-Security-Policy": PAGE_CSP})

    @app.get("/status.json")
    async def status_json() -> JSONResponse:
        page = status_page(collector.snapshot, collector.metrics, settings, collector.now(), collector.refreshing)
        return JSONResponse(as_json(page))

    async def static_file(request: Request) -> Response:
        asset = static.get(request.path_params["name"])
        if asset is None:
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        cache = asset.cache_control(request.query_params.get("v"))
        return Response(asset.body, media_type=asset.media_type, headers={"Cache-Control": cache})

    app.add_route("/static/{name}", static_file, methods=["GET"], include_in_schema=False)

    @app.get("/catalog", response_class=PlainTextResponse)
    async def metric_catalog() -> PlainTextResponse:
        from exporter.datadog.catalog_table import document

        return PlainTextResponse(document(collector.metrics))

    @app.get("/readme", response_class=PlainTextResponse)
    async def readme() -> PlainTextResponse:
        text = _readme()
        if text is None:
            return PlainTextResponse("the README is not installed with this copy of the exporter", status_code=404)
        return PlainTextResponse(text, media_type="text/plain; charset=utf-8")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    async def metrics(request: Request) -> Response:
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        body = collector.fresh_exposition(content_type)  # a fresh cache, already rendered: no thread
        if body is None:  # may wait for a refresh (bounded) or render: in a thread
            body = await anyio.to_thread.run_sync(collector.exposition, encoder, content_type, limiter=limiter)
        return Response(content=body, media_type=content_type)

    # A plain Starlette route: /metrics has no parameter to validate, and FastAPI's per-request
    # dependency and response handling took a fifth of a scrape served from the cache (BENCHMARKS.md).
    app.add_route("/metrics", metrics, methods=["GET"], include_in_schema=False)

    gate = _RefreshGate(settings, monotonic)

    @app.api_route("/refresh", methods=["GET", "POST"])
    async def refresh(request: Request) -> JSONResponse:
        refused = gate.refuse(request.headers.get("authorization"), collector.refreshing)
        if refused is not None:
            return refused
        if collector.stopping.is_set():
            return _shutting_down()
        future = collector.refresh()
        try:
            result = await _refresh_unless_stopping(future, collector.stopping, settings.refresh_deadline_seconds + 30)
        except TimeoutError:
            return JSONResponse({"error": "the refresh is still running"}, status_code=504)
        except Exception as exc:
            return JSONResponse({"error": f"the refresh failed ({type(exc).__name__})"}, status_code=500)
        if result is None:
            return _shutting_down()
        return JSONResponse(refresh_report(result))

    # GitHub webhooks: a verified delivery marks its repository changed (exporter/web/webhooks.py).
    secret = settings.webhook_secret
    receiver = (
        webhooks.WebhookReceiver(secret, settings.webhook_max_bytes, collector, monotonic).handle
        if secret is not None
        else webhooks.not_configured
    )
    app.add_route("/webhook", receiver, methods=["POST"], include_in_schema=False)

    return app
