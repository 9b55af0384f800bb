"""The HTTP layer under PyGithub: one seam every GitHub request passes through.

PyGithub lets a program replace its connection classes (`Requester.injectConnectionClasses`, the
hook its own replay tests use). Ours send each request through the `HttpHooks` of the refresh that
made it (a context variable, so two sources in one process never see each other's requests), keep
one pooled `requests.Session` per host instead of one per request, and follow a 301 with its query
intact (PyGithub's own redirect handling drops the query). Middlewares wrap the send: observers of
rate-limit headers, tracing spans, conditional requests.

Every answer is read here, below the middlewares, streamed and counted as it is decoded (gzip
included): past `HttpHooks.max_answer_bytes` the reading stops, the connection is dropped and the
request fails (`too_large`), so a gzip bomb or a runaway list costs at most the cap in memory. What
the middlewares and PyGithub then see is an ordinary `requests.Response` with its body read.
"""

from __future__ import annotations

import contextlib
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import requests
from github.Requester import (
    HTTPRequestsConnectionClass,
    HTTPSRequestsConnectionClass,
    Requester,
    RequestsResponse,
)
from urllib3.util.retry import Retry

from exporter.errors import SourceError

MAX_REDIRECTS = 3
DEFAULT_MAX_ANSWER_BYTES = 16 * 1024 * 1024  # EXPORTER_MAX_ANSWER_BYTES
_READ_CHUNK = 64 * 1024


@dataclass
class HttpRequest:
    """One GET as it is about to be sent (headers may be changed by a middleware)."""

    method: str
    url: str
    headers: dict[str, str]
    timeout: float | None


Send = Callable[[HttpRequest], requests.Response]
Middleware = Callable[[HttpRequest, Send], requests.Response]


@dataclass
class HttpHooks:
    """What one source does around each of its GitHub requests (outermost middleware first)."""

    middlewares: list[Middleware] = field(default_factory=list)
    max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES  # decoded bytes of one answer's body
    time_left: Callable[[], float] | None = None  # seconds to the requester's deadline (None: not known)


_current: ContextVar[HttpHooks | None] = ContextVar("github_transport_hooks", default=None)
_sessions: dict[tuple[str, str, int, str], requests.Session] = {}
_sessions_lock = threading.Lock()


@contextlib.contextmanager
def using(hooks: HttpHooks) -> Iterator[None]:
    """Send the GitHub requests made inside this block through `hooks`."""
    token = _current.set(hooks)
    try:
        yield
    finally:
        _current.reset(token)


def time_left() -> float | None:
    """Seconds left before the deadline of the requests sent in this context; None when not known."""
    hooks = _current.get()
    return hooks.time_left() if hooks is not None and hooks.time_left is not None else None


def _session(protocol: str, host: str, port: int, retry: Retry | int | None, pool_size: int) -> requests.Session:
    key = (protocol, host, port, repr(retry))
    with _sessions_lock:
        session = _sessions.get(key)
        if session is None:
            session = requests.Session()
            session.auth = Requester.noopAuth
            adapter = requests.adapters.HTTPAdapter(
                max_retries=retry if retry is not None else 0, pool_connections=pool_size, pool_maxsize=pool_size
            )
            session.mount(f"{protocol}://", adapter)
            _sessions[key] = session
        return session


class _HookedConnection:
    """Mimics PyGithub's requests-based connection; a new one is made for every request."""

    protocol = "http"
    default_port = 80

    def __init__(
        self,
        host: str,
        port: int | None = None,
        strict: bool = False,
        timeout: int | None = None,
        retry: int | Retry | None = None,
        pool_size: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.host = host
        self.port = port or self.default_port
        self.timeout = timeout
        self.verify = kwargs.get("verify", True)
        self._session = _session(self.protocol, host, self.port, retry, pool_size or 10)

    def request(self, verb: str, url: str, input: Any, headers: dict[str, str], stream: bool = False) -> None:
        self.verb, self.url, self.input, self.headers = verb, url, input, headers

    def getresponse(self) -> RequestsResponse:
        request = HttpRequest(
            self.verb, f"{self.protocol}://{self.host}:{self.port}{self.url}", dict(self.headers), self.timeout
        )
        hooks = _current.get()
        limit = hooks.max_answer_bytes if hooks else DEFAULT_MAX_ANSWER_BYTES
        send: Send = lambda request: self._send(request, limit)  # noqa: E731
        for middleware in reversed(hooks.middlewares if hooks else []):
            send = _chain(middleware, send)
        return RequestsResponse(send(request))

    def _send(self, request: HttpRequest, limit: int) -> requests.Response:
        url = request.url
        for _ in range(MAX_REDIRECTS + 1):
            response = self._session.request(
                request.method,
                url,
                headers=request.headers,
                data=self.input,
                timeout=request.timeout,
                verify=self.verify,
                allow_redirects=False,
                stream=True,
            )
            _read_body(response, limit)
            location = response.headers.get("location")
            if response.status_code not in (301, 307, 308) or request.method != "GET" or not location:
                return response
            target = urllib.parse.urljoin(url, location)
            if urllib.parse.urlsplit(target).netloc != urllib.parse.urlsplit(url).netloc:
                return response  # never follow GitHub to another host with the token
            response.close()
            url = target
        return response

    def close(self) -> None:
        """Sessions are pooled per host and outlive a connection object."""


def _read_body(response: requests.Response, limit: int) -> None:
    """Read a streamed answer into `response.content`, decoded; past `limit` bytes, stop and fail."""
    body = bytearray()
    try:
        for chunk in response.iter_content(_READ_CHUNK):
            body += chunk
            if len(body) > limit:
                path = urllib.parse.urlsplit(response.url).path
                raise SourceError(
                    "too_large",
                    f"GitHub's answer for {path} passed {limit} bytes (EXPORTER_MAX_ANSWER_BYTES); stopped reading",
                )
    except BaseException:
        response.close()  # the rest is never read: drop the connection rather than pool it
        raise
    response._content = bytes(body)
    response._content_consumed = True


def _chain(middleware: Middleware, send: Send) -> Send:
    return lambda request: middleware(request, send)


class _HookedHttpConnection(_HookedConnection, HTTPRequestsConnectionClass):
    protocol = "http"
    default_port = 80


class _HookedHttpsConnection(_HookedConnection, HTTPSRequestsConnectionClass):
    protocol = "https"
    default_port = 443


_installed = False


def install() -> None:
    """Route PyGithub's requests through this module (idempotent)."""
    global _installed
    if not _installed:
        Requester.injectConnectionClasses(_HookedHttpConnection, _HookedHttpsConnection)
        _installed = True
