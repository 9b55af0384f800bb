"""A fake Datadog API on loopback, for `exporter datadog push` driven through the real datadog-api-client.

It imitates the v1 endpoints the push uses, as Datadog's API reference describes them:
`GET/POST /api/v1/dashboard` (the list answers `{"dashboards": [summary…]}`, paged by `count`/`start`),
`GET/PUT /api/v1/dashboard/{id}`, `GET/POST /api/v1/monitor` (the list filtered by every tag of
`monitor_tags`, paged by `page`/`page_size`), `GET/PUT /api/v1/monitor/{id}`, `GET/POST /api/v1/slo`
(filtered by the one tag of `tags_query`, paged by `limit`/`offset`; answers `{"data": […]}`) and
`GET/PUT /api/v1/slo/{id}`. Every request must carry the right `DD-API-KEY` and `DD-APPLICATION-KEY`
(else 403 `{"errors": ["Forbidden"]}`, as Datadog answers). A created or updated object comes back
with what Datadog adds to it (ids, creator, created/modified times, a monitor's overall_state and
option defaults, widget ids), so a push must not mistake those for changes. A body that does not
load into the client's own model of the endpoint is refused with 400, as Datadog refuses it. Faults:
`fail(status, method, path_prefix)` answers `status` to matching requests until cleared.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from datadog_api_client.v1.model.dashboard import Dashboard
from datadog_api_client.v1.model.monitor import Monitor
from datadog_api_client.v1.model.monitor_update_request import MonitorUpdateRequest
from datadog_api_client.v1.model.service_level_objective import ServiceLevelObjective
from datadog_api_client.v1.model.service_level_objective_request import ServiceLevelObjectiveRequest

from exporter.datadog.assets import as_model

CREATED = "2026-11-20T12:00:00+00:00"
CREATOR = {"email": "ops@example.com", "handle": "ops@example.com", "name": "Ops"}
# Option defaults Datadog fills in on a monitor it stores.
MONITOR_OPTION_DEFAULTS = {"notify_audit": False, "new_host_delay": 300, "silenced": {}, "escalation_message": ""}


@dataclass(frozen=True)
class Fault:
    status: int
    method: str | None = None
    path_prefix: str = ""


class FakeDatadog:
    """The fake API; `url` once started. `writes` lists the (method, path) of every POST and PUT served."""

    def __init__(self, api_key: str = "test-api-key", app_key: str = "test-app-key") -> None:
        self.api_key, self.app_key = api_key, app_key
        self.dashboards: dict[str, dict[str, Any]] = {}
        self.monitors: dict[int, dict[str, Any]] = {}
        self.slos: dict[str, dict[str, Any]] = {}
        self.writes: list[tuple[str, str]] = []
        self.faults: list[Fault] = []
        self._ids = itertools.count(1000)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> str:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def fail(self, status: int, method: str | None = None, path_prefix: str = "") -> None:
        """Answer `status` to every matching request from now on."""
        self.faults.append(Fault(status, method, path_prefix))

    def add_monitor(self, body: dict[str, Any]) -> int:
        """A monitor made by someone else (or earlier), stored as Datadog stores it."""
        with self._lock:
            return int(self._store_monitor(body)["id"])

    # -- what Datadog does with a body --------------------------------------------------------------
    def _next_id(self) -> int:
        return next(self._ids)

    def _store_monitor(self, body: dict[str, Any], monitor_id: int | None = None) -> dict[str, Any]:
        old = self.monitors.get(monitor_id) if monitor_id is not None else None
        stored = copy.deepcopy(old) if old else {"id": self._next_id(), "created": CREATED, "creator": CREATOR}
        stored.update(copy.deepcopy(body))
        stored["options"] = {**MONITOR_OPTION_DEFAULTS, **stored.get("options", {})}
        stored.update(modified=CREATED, overall_state="No Data", deleted=None, multi=True)
        self.monitors[stored["id"]] = stored
        return stored

    def _store_dashboard(self, body: dict[str, Any], dashboard_id: str | None = None) -> dict[str, Any]:
        dashboard_id = dashboard_id or f"abc-{self._next_id()}-xyz"
        stored = copy.deepcopy(body)
        for widget in _widgets(stored["widgets"]):
            widget.setdefault("id", self._next_id())
        stored.update(
            id=dashboard_id,
            author_handle=CREATOR["handle"],
            created_at=CREATED,
            modified_at=CREATED,
            url=f"/dashboard/{dashboard_id}/x",
            is_read_only=False,
        )
        self.dashboards[dashboard_id] = stored
        return stored

    def _store_slo(self, body: dict[str, Any], slo_id: str | None = None) -> dict[str, Any]:
        slo_id = slo_id or f"{self._next_id():032x}"
        stored = copy.deepcopy(body)
        stored.update(id=slo_id, created_at=1_795_000_000, modified_at=1_795_000_000, creator=CREATOR)
        self.slos[slo_id] = stored
        return stored

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        """One request: (status, JSON answer)."""
        split = urllib.parse.urlsplit(target)
        path, query = split.path, dict(urllib.parse.parse_qsl(split.query))
        for fault in self.faults:
            if (fault.method in (None, method)) and path.startswith(fault.path_prefix):
                return fault.status, {"errors": [f"fault injected: {fault.status}"]}
        if headers.get("dd-api-key") != self.api_key or headers.get("dd-application-key") != self.app_key:
            return 403, {"errors": ["Forbidden"]}
        document = json.loads(body) if body else None
        with self._lock:
            if method in ("POST", "PUT"):
                self.writes.append((method, path))
            return self._route(method, path, query, document)

    def _route(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        if parts[:2] != ["api", "v1"] or len(parts) not in (3, 4):
            return 404, {"errors": ["Not found"]}
        kind, one = parts[2], parts[3] if len(parts) == 4 else None
        try:
            if kind == "dashboard":
                return self._dashboard(method, one, query, body)
            if kind == "monitor":
                return self._monitor(method, one, query, body)
            if kind == "slo":
                return self._slo(method, one, query, body)
        except TypeError as exc:  # the body does not load into the client's model: Datadog answers 400
            return 400, {"errors": [str(exc)[:200]]}
        return 404, {"errors": ["Not found"]}

    def _dashboard(self, method: str, one: str | None, query: dict[str, str], body: Any) -> tuple[int, Any]:
        if one is None and method == "GET":
            keys = ("id", "title", "description", "layout_type", "url", "author_handle", "created_at", "modified_at")
            summaries = [{key: board.get(key) for key in keys} for board in self.dashboards.values()]
            return 200, {"dashboards": _page(summaries, int(query.get("start", 0)), int(query.get("count", 100)))}
        if one is None and method == "POST":
            as_model(body, Dashboard)
            return 200, self._store_dashboard(body)
        if one not in self.dashboards:
            return 404, {"errors": ["Dashboard not found"]}
        if method == "PUT":
            as_model(body, Dashboard)
            return 200, self._store_dashboard(body, one)
        return 200, self.dashboards[one]

    def _monitor(self, method: str, one: str | None, query: dict[str, str], body: Any) -> tuple[int, Any]:
        if one is None and method == "GET":
            wanted = {tag for tag in query.get("monitor_tags", "").split(",") if tag}
            found = [m for m in self.monitors.values() if wanted <= set(m.get("tags", []))]
            if "page" not in query:
                return 200, found
            size = int(query.get("page_size", 100))
            return 200, _page(found, int(query["page"]) * size, size)
        if one is None and method == "POST":
            as_model(body, Monitor)
            return 200, self._store_monitor(body)
        monitor_id = int(one or 0)
        if monitor_id not in self.monitors:
            return 404, {"errors": ["Monitor not found"]}
        if method == "PUT":
            as_model(body, MonitorUpdateRequest)
            return 200, self._store_monitor(body, monitor_id)
        return 200, self.monitors[monitor_id]

    def _slo(self, method: str, one: str | None, query: dict[str, str], body: Any) -> tuple[int, Any]:
        if one is None and method == "GET":
            tag = query.get("tags_query")
            found = [s for s in self.slos.values() if tag is None or tag in s.get("tags", [])]
            return 200, {"data": _page(found, int(query.get("offset", 0)), int(query.get("limit", 1000)))}
        if one is None and method == "POST":
            as_model(body, ServiceLevelObjectiveRequest)
            return 200, {"data": [self._store_slo(body)]}
        if one not in self.slos:
            return 404, {"errors": ["SLO not found"]}
        if method == "PUT":
            as_model(body, ServiceLevelObjective)
            return 200, {"data": [self._store_slo(body, one)]}
        return 200, {"data": self.slos[one]}


def _page(items: list[Any], start: int, count: int) -> list[Any]:
    return items[start : start + count]


def _widgets(widgets: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for widget in widgets:
        yield widget
        yield from _widgets(widget.get("definition", {}).get("widgets", []))


def _handler_for(fake: FakeDatadog) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.headers.get("Content-Encoding") == "gzip":
                import gzip

                body = gzip.decompress(body)
            headers = {key.lower(): value for key, value in self.headers.items()}
            status, answer = fake.handle(self.command, self.path, headers, body)
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
