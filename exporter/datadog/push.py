"""Create or update the dashboard, monitors and SLOs in a Datadog organisation, idempotently.

Each asset is found again by what `exporter.datadog.assets` puts on it (owner tag, asset id, env):
monitors and SLOs listed by the owner tag, the dashboard by the identity line of its description,
which the dashboard list returns. An asset found is compared with the generated one: only the
fields the generator writes count (`desired ⊆ existing`), so what Datadog adds (ids, creator,
created/modified, overall_state, widget ids, option defaults) never causes an update, and a second
push changes nothing. An owned asset no longer generated (a goal switched off) is reported as stale
and left alone: deleting a monitor is for a person to decide. Requests are not retried: a push is
idempotent, so running it again is the retry.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from exporter.datadog.assets import KINDS, OWNER_TAG, Asset, Kind, as_model, identity_of
from exporter.datadog.keys import DatadogKeys
from exporter.settings import Settings

Action = Literal["create", "update", "unchanged"]
REQUEST_TIMEOUT_SECONDS = 30  # one API call; Datadog answers these endpoints in well under a second
_MAX_ERROR_CHARS = 300
_PERMISSIONS = {"dashboard": "dashboards", "monitor": "monitors", "slo": "slos"}  # + _read or _write


class PushError(RuntimeError):
    """Datadog refused a request or could not be reached; the message names the site and the endpoint."""


@dataclass(frozen=True)
class Remote:
    """An owned asset as Datadog holds it."""

    remote_id: str
    body: Mapping[str, Any]


@dataclass(frozen=True)
class Change:
    """What a push does (or did) to one asset."""

    asset: Asset
    action: Action
    remote_id: str | None = None
    differences: tuple[str, ...] = ()
    duplicates: tuple[str, ...] = ()  # other remote ids with the same identity, left alone


@dataclass(frozen=True)
class Plan:
    """The changes, in push order, and the owned assets no longer generated."""

    changes: list[Change]
    stale: list[tuple[Kind, str, str]] = field(default_factory=list)  # (kind, asset id, remote id)


def differences(desired: Any, existing: Any, path: str = "") -> list[str]:
    """Paths where `existing` does not hold `desired` (fields only Datadog writes are ignored; tags are a set)."""
    if isinstance(desired, Mapping):
        if not isinstance(existing, Mapping):
            return [path or "."]
        found: list[str] = []
        for key, value in desired.items():
            where = f"{path}.{key}" if path else str(key)
            if key not in existing:
                found.append(where)
            elif key == "tags" and isinstance(value, list) and isinstance(existing[key], list):
                if {str(tag).lower() for tag in value} != {str(tag).lower() for tag in existing[key]}:
                    found.append(where)
            else:
                found += differences(value, existing[key], where)
        return found
    if isinstance(desired, list):
        if not isinstance(existing, list) or len(existing) != len(desired):
            return [path]
        return [
            diff
            for n, (d, e) in enumerate(zip(desired, existing, strict=True))
            for diff in differences(d, e, f"{path}[{n}]")
        ]
    if isinstance(desired, int | float) and not isinstance(desired, bool):
        same = isinstance(existing, int | float) and not isinstance(existing, bool) and float(existing) == desired
        return [] if same else [path]
    return [] if desired == existing else [path]


class DatadogApi:
    """The v1 dashboards, monitors and SLOs endpoints, through datadog-api-client."""

    def __init__(self, settings: Settings, keys: DatadogKeys) -> None:
        from datadog_api_client import ApiClient, Configuration

        self.site_url = settings.datadog_api_url or f"https://api.{settings.dd_site}"
        api_key, app_key = keys.values()
        self._secrets = (api_key, app_key)
        configuration = Configuration(
            host=settings.datadog_api_url,
            api_key={"apiKeyAuth": api_key, "appKeyAuth": app_key},
            request_timeout=REQUEST_TIMEOUT_SECONDS,
        )
        if settings.datadog_api_url is None:
            configuration.server_variables["site"] = settings.dd_site
        self._client = ApiClient(configuration)

    def close(self) -> None:
        """Close the client's connections."""
        self._client.close()

    @contextlib.contextmanager
    def _calling(self, kind: Kind, method: str, path: str) -> Iterator[None]:
        """Turn the client's errors into a PushError naming the site and the endpoint (never a key)."""
        from datadog_api_client.exceptions import ApiException, OpenApiException
        from urllib3.exceptions import HTTPError

        endpoint = f"{method} {self.site_url}{path}"
        try:
            yield
        except ApiException as exc:
            hint = ""
            if exc.status in (401, 403):
                hint = (
                    f" (the API key or application key is refused, or the application key lacks "
                    f"{_PERMISSIONS[kind]}_{'read' if method == 'GET' else 'write'}: check DD_API_KEY, DD_APP_KEY "
                    "and DD_SITE)"
                )
            elif exc.status is not None and exc.status >= 500:
                hint = " (a Datadog-side failure: the push is idempotent, run it again)"
            detail = self._scrub(_errors_of(exc.body))
            raise PushError(f"Datadog answered {exc.status} {exc.reason or ''} to {endpoint}{hint}: {detail}") from None
        except HTTPError as exc:
            raise PushError(f"could not reach Datadog at {endpoint}: {type(exc).__name__}") from None
        except OpenApiException as exc:
            raise PushError(
                f"Datadog's answer to {endpoint} is not what its API describes: {self._scrub(str(exc))}"
            ) from None

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            if secret:
                text = text.replace(secret, "<hidden>")
        return text[:_MAX_ERROR_CHARS]

    def existing(self, kind: Kind, env: str) -> dict[str, list[Remote]]:
        """The owned assets of `kind` in `env`, by asset id (oldest first)."""
        found: dict[str, list[Remote]] = {}
        for remote_id, tags, description, body in self._list(kind):
            identity = identity_of(tags, description)
            if identity is not None and identity[1] == env:
                found.setdefault(identity[0], []).append(Remote(remote_id, body))
        for remotes in found.values():
            remotes.sort(key=lambda remote: (len(remote.remote_id), remote.remote_id))
        return found

    def _list(self, kind: Kind) -> Iterator[tuple[str, list[str], str | None, Mapping[str, Any]]]:
        """(id, tags, description, body) of each candidate: monitors and SLOs by the owner tag, dashboards all."""
        if kind == "monitor":
            from datadog_api_client.v1.api.monitors_api import MonitorsApi

            with self._calling(kind, "GET", "/api/v1/monitor"):
                monitors = list(MonitorsApi(self._client).list_monitors_with_pagination(monitor_tags=OWNER_TAG))
            for monitor in monitors:
                body = monitor.to_dict()
                yield str(body["id"]), list(body.get("tags") or []), None, body
        elif kind == "slo":
            from datadog_api_client.v1.api.service_level_objectives_api import ServiceLevelObjectivesApi

            with self._calling(kind, "GET", "/api/v1/slo"):
                slos = list(ServiceLevelObjectivesApi(self._client).list_slos_with_pagination(tags_query=OWNER_TAG))
            for slo in slos:
                body = slo.to_dict()
                yield str(body["id"]), list(body.get("tags") or []), None, body
        else:
            from datadog_api_client.v1.api.dashboards_api import DashboardsApi

            api = DashboardsApi(self._client)
            with self._calling(kind, "GET", "/api/v1/dashboard"):
                summaries = [summary.to_dict() for summary in api.list_dashboards_with_pagination()]
            for summary in summaries:
                description = summary.get("description")
                if identity_of((), description) is None:
                    continue
                with self._calling(kind, "GET", f"/api/v1/dashboard/{summary['id']}"):
                    body = api.get_dashboard(str(summary["id"])).to_dict()
                yield str(summary["id"]), [], description, body

    def create(self, asset: Asset) -> str:
        """Create `asset`; its new id."""
        if asset.kind == "monitor":
            from datadog_api_client.v1.api.monitors_api import MonitorsApi
            from datadog_api_client.v1.model.monitor import Monitor

            with self._calling(asset.kind, "POST", "/api/v1/monitor"):
                return str(MonitorsApi(self._client).create_monitor(as_model(asset.body, Monitor)).id)
        if asset.kind == "slo":
            from datadog_api_client.v1.api.service_level_objectives_api import ServiceLevelObjectivesApi
            from datadog_api_client.v1.model.service_level_objective_request import ServiceLevelObjectiveRequest

            with self._calling(asset.kind, "POST", "/api/v1/slo"):
                answer = ServiceLevelObjectivesApi(self._client).create_slo(
                    as_model(asset.body, ServiceLevelObjectiveRequest)
                )
            return str(answer.data[0].id)
        from datadog_api_client.v1.api.dashboards_api import DashboardsApi
        from datadog_api_client.v1.model.dashboard import Dashboard

        with self._calling(asset.kind, "POST", "/api/v1/dashboard"):
            return str(DashboardsApi(self._client).create_dashboard(as_model(asset.body, Dashboard)).id)

    def update(self, asset: Asset, remote_id: str) -> None:
        """Replace the generated fields of the asset `remote_id` with `asset`'s."""
        if asset.kind == "monitor":
            from datadog_api_client.v1.api.monitors_api import MonitorsApi
            from datadog_api_client.v1.model.monitor_update_request import MonitorUpdateRequest

            with self._calling(asset.kind, "PUT", f"/api/v1/monitor/{remote_id}"):
                MonitorsApi(self._client).update_monitor(int(remote_id), as_model(asset.body, MonitorUpdateRequest))
        elif asset.kind == "slo":
            from datadog_api_client.v1.api.service_level_objectives_api import ServiceLevelObjectivesApi
            from datadog_api_client.v1.model.service_level_objective import ServiceLevelObjective

            with self._calling(asset.kind, "PUT", f"/api/v1/slo/{remote_id}"):
                ServiceLevelObjectivesApi(self._client).update_slo(
                    remote_id, as_model(asset.body, ServiceLevelObjective)
                )
        else:
            from datadog_api_client.v1.api.dashboards_api import DashboardsApi
            from datadog_api_client.v1.model.dashboard import Dashboard

            with self._calling(asset.kind, "PUT", f"/api/v1/dashboard/{remote_id}"):
                DashboardsApi(self._client).update_dashboard(remote_id, as_model(asset.body, Dashboard))


def _errors_of(body: Any) -> str:
    """Datadog's `{"errors": [...]}` as text, or the body itself."""
    document = body
    if isinstance(body, bytes | str):
        text = body.decode(errors="replace") if isinstance(body, bytes) else body
        try:
            document = json.loads(text)
        except ValueError:
            return text
    if isinstance(document, dict) and isinstance(document.get("errors"), list):
        return "; ".join(str(error) for error in document["errors"])
    return str(document)


def plan(assets: Sequence[Asset], api: DatadogApi) -> Plan:
    """What a push would do: each asset created, updated or unchanged; owned assets no longer generated."""
    changes: list[Change] = []
    stale: list[tuple[Kind, str, str]] = []
    for kind in KINDS:
        wanted = [asset for asset in assets if asset.kind == kind]
        envs = {asset.env for asset in wanted}
        for env in sorted(envs):
            existing = api.existing(kind, env)
            ids = {asset.asset_id for asset in wanted if asset.env == env}
            stale += [
                (kind, asset_id, r.remote_id) for asset_id, rs in existing.items() if asset_id not in ids for r in rs
            ]
            for asset in (a for a in wanted if a.env == env):
                remotes = existing.get(asset.asset_id, [])
                if not remotes:
                    changes.append(Change(asset, "create"))
                    continue
                first, others = remotes[0], tuple(remote.remote_id for remote in remotes[1:])
                diff = tuple(differences(dict(asset.body), first.body))
                action: Action = "update" if diff else "unchanged"
                changes.append(Change(asset, action, first.remote_id, diff, others))
    return Plan(changes, stale)


def push(assets: Sequence[Asset], api: DatadogApi, dry_run: bool = False) -> Plan:
    """Create or update what differs (nothing with `dry_run`); the plan, with the ids of what was created."""
    planned = plan(assets, api)
    if dry_run:
        return planned
    done: list[Change] = []
    for change in planned.changes:
        if change.action == "create":
            change = Change(change.asset, "create", api.create(change.asset))
        elif change.action == "update" and change.remote_id is not None:
            api.update(change.asset, change.remote_id)
        done.append(change)
    return Plan(done, planned.stale)


def render(result: Plan, dry_run: bool) -> str:
    """The plan as lines a person reads: one per asset, then the stale ones and a summary."""
    verbs = {"create": "created", "update": "updated", "unchanged": "unchanged"}
    lines = []
    for change in result.changes:
        verb = change.action if dry_run else verbs[change.action]
        where = f" id={change.remote_id}" if change.remote_id else ""
        line = f"{verb:<9} {change.asset.kind:<9} {change.asset.asset_id}{where}  {change.asset.title}"
        if change.differences:
            line += f"  (differs: {', '.join(change.differences[:5])}{' …' if len(change.differences) > 5 else ''})"
        lines.append(line)
        lines += [
            f"duplicate {change.asset.kind:<9} {change.asset.asset_id} id={other} (left alone)"
            for other in change.duplicates
        ]
    lines += [
        f"stale     {kind:<9} {asset_id} id={remote_id} (no longer generated; not deleted)"
        for kind, asset_id, remote_id in result.stale
    ]
    counts = {
        action: sum(1 for c in result.changes if c.action == action) for action in ("create", "update", "unchanged")
    }
    prefix = "dry run, nothing changed: would " if dry_run else ""
    lines.append(
        f"{prefix}create {counts['create']}, update {counts['update']}, leave {counts['unchanged']} unchanged"
        + (f"; {len(result.stale)} stale" if result.stale else "")
    )
    return "\n".join(lines)
