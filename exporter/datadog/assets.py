"""What the dashboard, monitors and SLOs share: the owner and asset tags, query text and model checks.

An asset this exporter owns carries `managed-by:system-health-exporter`, an asset id
(`system-health-asset:monitor.goal.commits.hotfix`) and `env:<DD_ENV>`; `push` finds it again by
those three, never by its title. A dashboard cannot carry such tags (the v1 API only takes `team:`
tags there), so it carries the same words on its description's last line, which the dashboard list
returns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from exporter.datadog.names import SOURCE_TAG
from exporter.settings import Settings

Kind = Literal["dashboard", "monitor", "slo"]
KINDS: tuple[Kind, ...] = ("monitor", "slo", "dashboard")
OWNER_TAG = "managed-by:system-health-exporter"
ASSET_TAG = "system-health-asset"
TITLE_PREFIX = "[system-health]"
PUSH_COMMAND = "python -m exporter datadog push"
_NOT_IN_TAG = re.compile(r"[^a-z0-9_\-:./]")


@dataclass(frozen=True)
class Asset:
    """One object to keep in Datadog: `body` is the JSON its create endpoint accepts."""

    kind: Kind
    asset_id: str
    env: str
    body: Mapping[str, Any]

    @property
    def title(self) -> str:
        """The name Datadog shows (a dashboard's title, a monitor's or an SLO's name)."""
        return str(self.body.get("title") or self.body.get("name"))


def tag_value(text: str) -> str:
    """`text` as Datadog stores a tag value: lower case, other characters than [a-z0-9_-:./] as `_`."""
    return _NOT_IN_TAG.sub("_", text.lower())


def env_of(settings: Settings) -> str:
    """The env the assets watch and are told apart by (DD_ENV, as Datadog stores the tag)."""
    return tag_value(settings.dd_env)


def asset_tags(asset_id: str, env: str, settings: Settings) -> list[str]:
    """The tags that find an asset again, plus the service tag; sorted, as Datadog lists them."""
    return sorted({OWNER_TAG, f"{ASSET_TAG}:{asset_id}", f"env:{env}", f"service:{tag_value(settings.dd_service)}"})


def identity_line(asset_id: str, env: str) -> str:
    """The description line that names a dashboard's asset id and env (dashboards take no such tags)."""
    return f"{OWNER_TAG} {ASSET_TAG}:{asset_id} env:{env}"


def identity_of(tags: Iterable[str] = (), description: str | None = None) -> tuple[str, str] | None:
    """(asset id, env) of an asset this exporter owns, from its tags or its description; None if not ours."""
    words = list(tags) + (description or "").split()
    if OWNER_TAG not in words:
        return None
    asset = next((word.split(":", 1)[1] for word in words if word.startswith(f"{ASSET_TAG}:")), None)
    env = next((word.split(":", 1)[1] for word in words if word.startswith("env:")), None)
    return (asset, env) if asset and env else None


def metric_query(aggregation: str, name: str, filters: Iterable[str], by: Iterable[str] = ()) -> str:
    """`avg:commits.hotfix{source:…,env:…} by {repo,branch}`: a Datadog metric query."""
    query = f"{aggregation}:{name}{{{','.join(filters)}}}"
    grouped = list(by)
    return f"{query} by {{{','.join(grouped)}}}" if grouped else query


def series_filters(settings: Settings) -> list[str]:
    """The tags every query of a monitor or SLO starts from: the exporter's series in this env."""
    return [SOURCE_TAG, f"env:{env_of(settings)}"]


def as_model(body: Mapping[str, Any], model: type[Any]) -> Any:
    """`body` loaded into a datadog-api-client model with type checking on; a TypeError names what is wrong.

    The client does not raise on an unknown enum value or widget type: it marks the model
    `_unparsed`. That is an error here, so nothing Datadog would refuse reaches its API.
    """
    from datadog_api_client import Configuration
    from datadog_api_client.model_utils import validate_and_convert_types

    loaded = validate_and_convert_types(dict(body), (model,), ["body"], True, True, Configuration())
    if getattr(loaded, "_unparsed", False):
        raise TypeError(f"{model.__name__}: the body has a value the Datadog API does not know: {dict(body)!r}")
    return loaded
