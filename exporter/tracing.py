"""APM tracing with ddtrace: `init_tracing(settings)`, `@trace`, `span()` and the GitHub request span.

Tracing is off unless DD_TRACE_ENABLED is true. While it is off nothing here imports ddtrace:
`@trace`, `span()` and the GitHub middleware look at one module-level reference and call straight
through. ddtrace 4 takes its agent address and unified service tags from the environment when it is
first imported, so `init_tracing` writes the values `Settings` parsed (the one place DD_* variables
are read) into those variables and only then imports ddtrace.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import re
import urllib.parse
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar, cast

from exporter.settings import Settings

if TYPE_CHECKING:
    import requests

    from exporter.github.transport import HttpRequest, Send

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")
TagValue = str | int | float

# ddtrace's patch() names: the web framework, context propagation into thread pools (scrape ->
# refresh -> repositories) and log correlation. Not `requests`: `github.request` spans replace it.
INTEGRATIONS = {"fastapi": True, "futures": True, "logging": True}
LOG_CORRELATION = (
    " [dd.service=%(dd.service)s dd.env=%(dd.env)s dd.version=%(dd.version)s"
    " dd.trace_id=%(dd.trace_id)s dd.span_id=%(dd.span_id)s]"
)
_LOG_DEFAULTS = {"dd.service": "", "dd.env": "", "dd.version": "", "dd.trace_id": "0", "dd.span_id": "0"}
# Answers that are failures of the request itself; a 404 or 409 is GitHub's way of saying "no such
# thing", which the metric span reports when it matters.
_FAILED_STATUSES = frozenset({401, 403, 429})
_NUMERIC_SEGMENT = re.compile(r"/\d+(?=/|$)")
_CACHE_HEADER = "X-Exporter-Cache"  # etag_cache.CACHE_HEADER, named here to keep PyGithub out of this module

_tracer: Any = None  # ddtrace's tracer, once init_tracing turned tracing on


class SpanHandle(Protocol):
    """What instrumented code may do with its span (a no-op while tracing is off)."""

    def set_tag(self, key: str, value: TagValue) -> None: ...

    def record_error(self, error: BaseException) -> None: ...

    def mark_error(self, message: str) -> None: ...


class _NoSpan:
    def set_tag(self, key: str, value: TagValue) -> None:
        pass

    def record_error(self, error: BaseException) -> None:
        pass

    def mark_error(self, message: str) -> None:
        pass

    def __enter__(self) -> SpanHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


_NO_SPAN = _NoSpan()


class _LiveSpan:
    def __init__(self, span: Any) -> None:
        self._span = span

    def set_tag(self, key: str, value: TagValue) -> None:
        if isinstance(value, str):
            self._span.set_tag(key, value)
        else:
            self._span.set_metric(key, value)

    def record_error(self, error: BaseException) -> None:
        self._span.set_exc_info(type(error), error, error.__traceback__)

    def mark_error(self, message: str) -> None:
        self._span.error = 1
        self._span.set_tag("error.message", message)


def enabled() -> bool:
    """True once `init_tracing` has turned tracing on."""
    return _tracer is not None


def agent_url(settings: Settings) -> str | None:
    """DD_TRACE_AGENT_URL, else one made of DD_AGENT_HOST and DD_TRACE_AGENT_PORT; None leaves
    ddtrace's own default (the agent's Unix socket if present, else localhost:8126)."""
    if settings.dd_trace_agent_url:
        return settings.dd_trace_agent_url
    if settings.dd_agent_host is None and settings.dd_trace_agent_port == 8126:
        return None
    host = settings.dd_agent_host or "localhost"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    return f"http://{host}:{settings.dd_trace_agent_port}"


def ddtrace_environment(settings: Settings) -> dict[str, str | None]:
    """The DD_* variables ddtrace reads at import, from `settings` (None: remove the variable)."""
    return {
        "DD_TRACE_ENABLED": "true",
        "DD_SERVICE": settings.dd_service,
        "DD_ENV": settings.dd_env,
        "DD_VERSION": settings.dd_version,
        "DD_SITE": settings.dd_site,
        "DD_TRACE_AGENT_URL": agent_url(settings),
        "DD_AGENT_HOST": None,  # folded into DD_TRACE_AGENT_URL above
        "DD_TRACE_AGENT_PORT": None,
        "DD_LOGS_INJECTION": "true",
        "DD_TRACE_LOG_STREAM_HANDLER": "false",  # ddtrace's records reach our handlers already
    }


def init_tracing(settings: Settings) -> bool:
    """Turn tracing on when DD_TRACE_ENABLED is true (else do nothing at all); True when on."""
    global _tracer
    if not settings.dd_trace_enabled:
        return False
    if _tracer is not None:
        return True
    for name, value in ddtrace_environment(settings).items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    import ddtrace
    from ddtrace.trace import tracer

    # Also set on the live config, in case ddtrace was imported before us (ddtrace-run).
    ddtrace.config.service = settings.dd_service
    ddtrace.config.env = settings.dd_env
    ddtrace.config.version = settings.dd_version
    ddtrace.patch(**INTEGRATIONS)
    correlate_logs(logging.getLogger())
    _tracer = tracer
    logger.info(
        "APM tracing on: service %s, env %s, version %s, agent %s",
        settings.dd_service,
        settings.dd_env,
        settings.dd_version or "unset",
        agent_url(settings) or "ddtrace default",
    )
    return True


def correlate_logs(target: logging.Logger) -> None:
    """Append trace and span ids (ddtrace log injection) to the format of `target`'s handlers."""
    for handler in target.handlers:
        formatter = handler.formatter or logging.Formatter()
        fmt = formatter._fmt or logging.BASIC_FORMAT
        if "dd.trace_id" in fmt or type(formatter._style) is not logging.PercentStyle:  # only %-style formats
            continue
        handler.setFormatter(logging.Formatter(fmt + LOG_CORRELATION, formatter.datefmt, defaults=_LOG_DEFAULTS))


def span(
    name: str, resource: str | None = None, tags: Mapping[str, TagValue] | None = None
) -> AbstractContextManager[SpanHandle]:
    """A span around a block; an exception leaving the block marks it as an error."""
    if _tracer is None:
        return _NO_SPAN
    return _live_span(name, resource, tags or {})


@contextmanager
def _live_span(name: str, resource: str | None, tags: Mapping[str, TagValue]) -> Iterator[SpanHandle]:
    with _tracer.trace(name, resource=resource) as active:
        handle = _LiveSpan(active)
        for key, value in tags.items():
            handle.set_tag(key, value)
        yield handle


def trace(name: str | None = None, *, resource: str | None = None) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a sync or async function to run in a span (default name: module.qualname)."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        if inspect.isgeneratorfunction(function) or inspect.isasyncgenfunction(function):
            raise TypeError(f"@trace cannot time a generator: {function.__qualname__}")
        span_name = name or f"{function.__module__}.{function.__qualname__}"
        if inspect.iscoroutinefunction(function):
            return cast(Callable[P, R], _trace_async(cast(Callable[P, Awaitable[Any]], function), span_name, resource))

        @functools.wraps(function)
        def traced(*args: P.args, **kwargs: P.kwargs) -> R:
            if _tracer is None:
                return function(*args, **kwargs)
            with _tracer.trace(span_name, resource=resource):
                return function(*args, **kwargs)

        return traced

    return decorate


def _trace_async(
    function: Callable[P, Awaitable[T]], span_name: str, resource: str | None
) -> Callable[P, Coroutine[Any, Any, T]]:
    @functools.wraps(function)
    async def traced(*args: P.args, **kwargs: P.kwargs) -> T:
        if _tracer is None:
            return await function(*args, **kwargs)
        with _tracer.trace(span_name, resource=resource):
            return await function(*args, **kwargs)

    return traced


def github_request_span(request: HttpRequest, send: Send) -> requests.Response:
    """`transport` middleware: a `github.request` span per GitHub request (never its headers)."""
    if _tracer is None:
        return send(request)
    parts = urllib.parse.urlsplit(request.url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    route = _NUMERIC_SEGMENT.sub("/?", parts.path)
    with _tracer.trace("github.request", resource=f"{request.method} {route}", span_type="http") as active:
        active.set_tag("span.kind", "client")
        active.set_tag("component", "github")
        active.set_tag("http.method", request.method)
        active.set_tag("http.url", urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", "")))
        active.set_tag("out.host", host)
        response = send(request)
        status = response.status_code
        active.set_tag("http.status_code", str(status))
        remaining = response.headers.get("x-ratelimit-remaining", "")
        if remaining.isdigit():
            active.set_metric("github.ratelimit.remaining", int(remaining))
        cache = response.headers.get(_CACHE_HEADER)
        if cache:  # GitHub answered 304 and etag_cache handed PyGithub the stored 200
            active.set_tag("github.cache", cache)
        if status >= 500 or status in _FAILED_STATUSES:
            active.error = 1
            active.set_tag("error.type", f"HTTP {status}")
            active.set_tag("error.message", f"GitHub answered {status}")
        return response
