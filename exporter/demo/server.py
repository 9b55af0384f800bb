"""FakeGitHub: GitHub's REST API (the endpoints the exporter reads) on 127.0.0.1, in a thread.

Imitates GitHub's headers (x-ratelimit-*, ETag, Cache-Control, x-github-request-id), the primary
rate limit (one point a request, none for a 304 or for /rate_limit), token checks (401 Bad
credentials), conditional requests (If-None-Match -> 304) and injectable faults (see faults.py).

When switched on, it also enforces GitHub's secondary limits per identity (the token, or the
anonymous client's IP), as GitHub documents them: points a minute (a GET is one point, a 304 and
/rate_limit too) and concurrent requests; past either it answers 403 with the secondary-limit message
and `Retry-After`, charging nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from exporter.demo import apps, payloads
from exporter.demo.faults import BODY_KINDS, BOMB_DEFAULT_BYTES, BOMB_KINDS, Fault, bomb, damage
from exporter.demo.model import FakeRepo
from exporter.demo.routes import Answer, find_repo, route

HANG_LIMIT_SECONDS = 30.0
RATE_LIMIT_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID {id}."
)


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received; status 0 means it sent no answer (refuse, hang, truncated)."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    headers: dict[str, str]


class FakeGitHub:
    """A loopback imitation of api.github.com for PyGithub; data is mutable between requests."""

    def __init__(
        self,
        repos: Iterable[FakeRepo] = (),
        rate_limit: int = 5000,
        clock: Callable[[], datetime] | None = None,
        anonymous_rate_limit: int = 60,
        secondary_points_per_minute: int | None = None,
        max_concurrent: int | None = None,
    ) -> None:
        self.repos: list[FakeRepo] = list(repos)
        self.rate_limit = rate_limit
        self.anonymous_rate_limit = anonymous_rate_limit
        self.clock = clock or (lambda: datetime.now(UTC))
        self.valid_tokens: set[str] | None = None
        self.app: apps.FakeApp | None = None  # a GitHub App: its JWT buys tokens GitHub accepts for an hour
        self.latency_seconds = 0.0
        # GitHub's secondary limits (900 points a minute, 100 concurrent requests); None: not enforced.
        self.secondary_points_per_minute = secondary_points_per_minute
        self.max_concurrent = max_concurrent
        self._minute_points: Counter[tuple[str, int]] = Counter()  # (identity, minute) -> points charged
        self._in_flight: Counter[str] = Counter()
        self.peak_concurrency = 0  # the most requests of one identity in flight at once
        self.secondary_refusals = 0
        self._used = {"token": 0, "anonymous": 0}  # GitHub counts per user and, anonymously, per IP
        self.url = ""
        self._lock = threading.RLock()
        self._requests: list[RecordedRequest] = []
        self._faults: list[Fault] = []
        self._window_reset: datetime | None = None
        self._request_number = 0
        self._stopping = threading.Event()
        self._hang_release = threading.Event()
        self.hanging = 0  # requests currently held by a "hang" fault
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

    # --- data -----------------------------------------------------------------------------
    def add_repo(self, repo: FakeRepo) -> None:
        with self._lock:
            self.repos.append(repo)

    def repo(self, full_name: str) -> FakeRepo:
        with self._lock:
            for repo in self.repos:
                if repo.full_name.lower() == full_name.lower():
                    return repo
        raise KeyError(f"fake GitHub has no repository {full_name!r}")

    @property
    def points_used(self) -> int:
        """Rate-limit points charged in the current window (token and anonymous requests together)."""
        with self._lock:
            return self._used["token"] + self._used["anonymous"]

    @points_used.setter
    def points_used(self, value: int) -> None:
        """Set the token pool (e.g. to near the limit); the anonymous pool restarts at 0."""
        with self._lock:
            self._used = {"token": value, "anonymous": 0}

    @property
    def anonymous_points_used(self) -> int:
        with self._lock:
            return self._used["anonymous"]

    # --- secondary limits -----------------------------------------------------------------
    def points_per_minute(self) -> dict[tuple[str, int], int]:
        """Secondary-limit points charged, by (identity, minute since the epoch on `clock`)."""
        with self._lock:
            return dict(self._minute_points)

    @property
    def peak_points_per_minute(self) -> int:
        """The most points one identity was charged in one minute."""
        with self._lock:
            return max(self._minute_points.values(), default=0)

    @staticmethod
    def identity(headers: dict[str, str], client_ip: str) -> str:
        """Whom GitHub counts a request against: its token (a PAT or an App installation's), else its IP."""
        auth = headers.get("authorization", "")
        token = auth.split(" ", 1)[1].strip() if " " in auth else ""
        return f"token:{token}" if token else f"anonymous:{client_ip}"

    def _begin(self, identity: str) -> None:
        with self._lock:
            self._in_flight[identity] += 1
            self.peak_concurrency = max(self.peak_concurrency, self._in_flight[identity])

    def _end(self, identity: str) -> None:
        with self._lock:
            self._in_flight[identity] -= 1
            if self._in_flight[identity] <= 0:
                del self._in_flight[identity]

    def _secondary_limit(self, identity: str, request_id: str) -> Answer | None:
        """The 403 of a secondary limit when this request exceeds one, else None after charging its point."""
        now = self.clock().timestamp()
        minute = int(now // 60)
        retry_after: int | None = None
        if self.max_concurrent is not None and self._in_flight[identity] > self.max_concurrent:
            retry_after = 60  # GitHub's advice when a secondary limit gives no better figure
        elif (
            self.secondary_points_per_minute is not None
            and self._minute_points[(identity, minute)] >= self.secondary_points_per_minute
        ):
            retry_after = max(1, math.ceil((minute + 1) * 60 - now))
        if retry_after is not None:
            self.secondary_refusals += 1
            body = payloads.error(SECONDARY_MESSAGE.format(id=request_id), 403)
            return Answer(403, body, {"Retry-After": str(retry_after)})
        self._minute_points[(identity, minute)] += 1
        return None

    # --- request log ----------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def count(self, path_contains: str = "", status: int | None = None) -> int:
        """How many logged requests have `path_contains` in their path (and the status, if given)."""
        return sum(1 for r in self.requests if path_contains in r.path and (status is None or r.status == status))

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    # --- faults ---------------------------------------------------------------------------
    def inject(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def release_hangs(self) -> None:
        """Let every request held by a "hang" fault go (each closes its connection unanswered)."""
        with self._lock:
            self._hang_release.set()
            self._hang_release = threading.Event()

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> str:
        """Serve on 127.0.0.1 on a free port; return the base URL for PyGithub's base_url."""
        if self._server is not None:
            return self.url
        self._stopping.clear()
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fakegithub", daemon=True
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving, release hung requests and close kept-alive connections."""
        self._stopping.set()
        self.release_hangs()
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeGitHub:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- request handling (called from handler threads) -------------------------------------
    def _record(self, method: str, path: str, query: dict[str, str], status: int, headers: dict[str, str]) -> None:
        with self._lock:
            self._requests.append(RecordedRequest(method, path, query, status, headers))

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.applies_to(path):
                    fault.used += 1
                    return fault
        return None

    def _hang(self) -> None:
        with self._lock:
            release = self._hang_release
            self.hanging += 1
        try:
            if not self._stopping.is_set():
                release.wait(HANG_LIMIT_SECONDS)
        finally:
            with self._lock:
                self.hanging -= 1

    def _rate_state(self, anonymous: bool) -> tuple[int, int, int]:
        """(limit, used, reset epoch) of the current window, starting a new window when due."""
        now = self.clock()
        if self._window_reset is None:
            self._window_reset = now + timedelta(hours=1)
        elif now >= self._window_reset:
            self._window_reset = now + timedelta(hours=1)
            self._used = {"token": 0, "anonymous": 0}
        used = self._used["anonymous" if anonymous else "token"]
        limit = self.anonymous_rate_limit if anonymous else self.rate_limit
        return limit, used, int(self._window_reset.timestamp())

    def answer(
        self,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        fault: Fault | None,
        identity: str = "",
    ) -> tuple[int, bytes | None, dict[str, str]]:
        """Status, body bytes (None = no body) and headers for one GET, charging the rate limits."""
        auth = headers.get("authorization", "")
        token = auth.split(" ", 1)[1].strip() if " " in auth else ""
        anonymous = not token
        with self._lock:
            self._request_number += 1
            request_id = f"F4KE:{self._request_number:06X}:{self._request_number * 7919:08X}"
            limit, used, reset = self._rate_state(anonymous)
            is_rate_limit = path == "/rate_limit"
            secondary = self._secondary_limit(identity or self.identity(headers, "?"), request_id)
            answer = secondary or self._decide(path, query, token, fault, limit, used, reset, request_id)
            if fault is not None and fault.kind in BODY_KINDS:
                damage(fault.kind, answer.body)
            body = None if answer.body is None else json.dumps(answer.body, separators=(",", ":")).encode()
            etag = f'W/"{hashlib.sha256(body or b"").hexdigest()}"'
            not_modified = answer.status == 200 and headers.get("if-none-match") == etag
            if not_modified:
                answer, body = Answer(304, None), None
            elif secondary is None and not is_rate_limit and used < limit:
                self._used["anonymous" if anonymous else "token"] += 1
            limit, used, reset = self._rate_state(anonymous)
        remaining = 0 if answer.headers.pop("x-forced-remaining-0", None) else max(limit - used, 0)
        out = {
            "Content-Type": "application/json; charset=utf-8",
            "Cache-Control": "private, max-age=60, s-maxage=60",
            "ETag": etag,
            "x-github-api-version-selected": "2022-11-28",
            "x-github-media-type": "github.v3; format=json",
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-used": str(min(used, limit) if remaining else limit),
            "x-ratelimit-reset": answer.headers.pop("x-forced-reset", str(reset)),
            "x-ratelimit-resource": "core",
            "x-github-request-id": request_id,
            **answer.headers,
        }
        return answer.status, body, out

    def _decide(
        self,
        path: str,
        query: dict[str, str],
        token: str,
        fault: Fault | None,
        limit: int,
        used: int,
        reset: int,
        request_id: str,
    ) -> Answer:
        app_token_refused = self.app.token_refused(token, self.clock()) if self.app is not None and token else None
        if app_token_refused:
            return Answer(401, payloads.error("Bad credentials", 401))
        if app_token_refused is None and self.valid_tokens is not None and token and token not in self.valid_tokens:
            return Answer(401, payloads.error("Bad credentials", 401))
        if fault is not None and fault.kind not in BODY_KINDS:
            forced = self._fault_answer(fault, path, query, request_id)
            if forced is not None:
                return forced
        if used >= limit and path != "/rate_limit":
            return _primary_limit(request_id, str(reset))
        if path == "/rate_limit":
            return Answer(200, payloads.rate_limit(limit, used, reset))
        return route(self.repos, self.url, path, query, now=self.clock())

    def answer_app(
        self, method: str, path: str, headers: dict[str, str], fault: Fault | None
    ) -> tuple[int, bytes | None, dict[str, str]]:
        """Status, body and headers for one request to the App endpoints (a JWT's: no installation rate limit)."""
        with self._lock:
            self._request_number += 1
            request_id = f"F4KE:{self._request_number:06X}:{self._request_number * 7919:08X}"
            forced = self._fault_answer(fault, path, {}, request_id) if fault is not None else None
            authorization = headers.get("authorization", "")
            answer = forced or apps.answer(self.app, self.url, method, path, authorization, self.clock())
        body = None if answer.body is None else json.dumps(answer.body, separators=(",", ":")).encode()
        out = {
            "Content-Type": "application/json; charset=utf-8",
            "Cache-Control": "no-store" if method == "POST" else "private, max-age=60, s-maxage=60",
            "x-github-api-version-selected": "2022-11-28",
            "x-github-media-type": "github.v3; format=json",
            "x-github-request-id": request_id,
            **answer.headers,
        }
        return answer.status, body, out

    def _fault_answer(self, fault: Fault, path: str, query: dict[str, str], request_id: str) -> Answer | None:
        kind = fault.kind
        retry = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        if kind == "status":
            code = fault.status or 500
            phrase = HTTPStatus(code).phrase if code in HTTPStatus._value2member_map_ else "Error"
            return Answer(code, payloads.error(phrase, code), dict(retry))
        if kind == "unauthorized":
            return Answer(401, payloads.error("Bad credentials", 401))
        if kind == "not_found":
            return Answer(404, payloads.error("Not Found", 404))
        if kind == "empty_repository":
            return Answer(409, payloads.error("Git Repository is empty.", 409))
        if kind == "primary_rate_limit":
            reset = int((self.clock() + timedelta(seconds=fault.reset_in or 60)).timestamp())
            answer = _primary_limit(request_id, str(reset))
            answer.headers.update(retry)
            return answer
        if kind == "secondary_rate_limit":
            body = payloads.error(SECONDARY_MESSAGE.format(id=request_id), 403)
            return Answer(403, body, {"Retry-After": str(fault.retry_after or 60)})
        if kind == "too_many_requests":
            return Answer(429, payloads.error("Too Many Requests", 429), dict(retry))
        if kind == "moved":
            found = find_repo(self.repos, path)
            if found is None:
                return None
            repo, rest = found
            location = f"{self.url}/repositories/{repo.id}{rest}" + (f"?{urlencode(query)}" if query else "")
            body = {
                "message": "Moved Permanently",
                "url": location,
                "documentation_url": "https://docs.github.com/v3/#http-redirects",
            }
            return Answer(301, body, {"Location": location})
        return None


def _primary_limit(request_id: str, reset: str) -> Answer:
    message = (
        f"API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, "
        f"please include the request ID {request_id}."
    )
    body = {"message": message, "documentation_url": RATE_LIMIT_DOCS, "status": "403"}
    return Answer(403, body, {"x-forced-remaining-0": "1", "x-forced-reset": reset})


def _handler_for(fake: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        owner = fake

    return Handler


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive, as GitHub's front end; transport faults act on the socket."""

    owner: FakeGitHub
    protocol_version = "HTTP/1.1"
    server_version = "github.com"
    sys_version = ""
    timeout = 60

    def setup(self) -> None:
        super().setup()
        with self.owner._lock:
            self.owner._connections.add(self.connection)

    def finish(self) -> None:
        with self.owner._lock:
            self.owner._connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: tests read fake.requests instead of stderr."""

    def do_GET(self) -> None:
        fake = self.owner
        split = urlsplit(self.path)
        path, query = split.path, dict(parse_qsl(split.query, keep_blank_values=True))
        headers = {key.lower(): value for key, value in self.headers.items()}
        if apps.is_app_path("GET", path):
            self._answer_app("GET", path, headers)
            return
        identity = fake.identity(headers, self.client_address[0])
        fake._begin(identity)
        try:
            self._get(path, query, headers, identity)
        finally:
            fake._end(identity)

    def _get(self, path: str, query: dict[str, str], headers: dict[str, str], identity: str) -> None:
        fake = self.owner
        if fake.latency_seconds > 0:
            fake._stopping.wait(fake.latency_seconds)
        fault = fake._take_fault(path)
        kind = fault.kind if fault else None
        if kind in ("refuse", "hang"):
            if kind == "hang":
                fake._hang()
            fake._record("GET", path, query, 0, headers)
            self.close_connection = True
            return
        if kind in ("truncated", "not_json") or kind in BOMB_KINDS:
            # A mangled body is a 200 with a body, even to a conditional request (a 304 has no body).
            plain = {key: value for key, value in headers.items() if key not in ("if-none-match", "if-modified-since")}
            status, body, out = fake.answer(path, query, plain, None, identity)
        else:
            status, body, out = fake.answer(path, query, headers, fault, identity)
        if kind == "not_json":  # an error page from a front end: its own body, no ETag of the JSON's
            body, out["Content-Type"] = b"<html><body>Unicorn! We had a problem.</body></html>", "text/html"
            out.pop("ETag", None)
        if fault is not None and fault.kind in BOMB_KINDS and status == 200 and body:
            fake._record("GET", path, query, status, headers)
            self._send_bomb(fault, body, out)
            return
        declared = len(body or b"") + (512 if kind == "truncated" else 0)
        fake._record("GET", path, query, 0 if kind == "truncated" else status, headers)
        try:
            self.send_response(status)
            for key, value in out.items():
                self.send_header(key, value)
            if status != 304:
                self.send_header("Content-Length", str(declared))
            self.end_headers()
            if body:
                self.wfile.write(body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True
        if kind == "truncated":
            self.close_connection = True

    def _send_bomb(self, fault: Fault, body: bytes, out: dict[str, str]) -> None:
        """Stream an oversized answer; a client that stops reading closes the connection, ending it."""
        out.pop("ETag", None)  # not the answer whose ETag it was
        extra, chunks = bomb(fault.kind, body, fault.body_bytes or BOMB_DEFAULT_BYTES[fault.kind])
        chunked = extra.get("Transfer-Encoding") == "chunked"
        self.close_connection = True
        try:
            self.send_response(200)
            for key, value in {**out, **extra}.items():
                self.send_header(key, value)
            self.end_headers()
            for chunk in chunks:
                if self.owner._stopping.is_set():
                    return
                if not chunk:
                    continue
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            pass

    def do_POST(self) -> None:
        split = urlsplit(self.path)
        headers = {key.lower(): value for key, value in self.headers.items()}
        if not apps.is_app_path("POST", split.path):
            self._not_allowed()
            return
        length = int(headers.get("content-length") or 0)
        if length:
            self.rfile.read(min(length, 64 * 1024))  # the body (permissions, repositories) is not looked at
        self._answer_app("POST", split.path, headers)

    def _answer_app(self, method: str, path: str, headers: dict[str, str]) -> None:
        """An App endpoint: a "refuse" or "hang" fault acts on the socket, others decide the answer."""
        fake = self.owner
        fault = fake._take_fault(path)
        if fault is not None and fault.kind in ("refuse", "hang"):
            if fault.kind == "hang":
                fake._hang()
            fake._record(method, path, {}, 0, headers)
            self.close_connection = True
            return
        status, body, out = fake.answer_app(method, path, headers, fault)
        fake._record(method, path, {}, status, headers)
        try:
            self.send_response(status)
            for key, value in out.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            if body:
                self.wfile.write(body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def do_HEAD(self) -> None:
        self.send_error(405)

    def _not_allowed(self) -> None:
        self.close_connection = True  # the request body is never read
        body = json.dumps(payloads.error("Not Found", 404)).encode()
        self.send_response(404)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_PUT = do_PATCH = do_DELETE = _not_allowed
