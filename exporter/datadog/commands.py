"""`exporter datadog dashboard|monitors|slos|push`: print the assets as JSON, or push them."""

from __future__ import annotations

import json
import sys

from exporter.datadog.assets import Asset
from exporter.datadog.dashboard import dashboard
from exporter.datadog.keys import KeysError, datadog_keys
from exporter.datadog.monitors import monitors
from exporter.datadog.push import DatadogApi, PushError, push, render
from exporter.datadog.slos import slos
from exporter.metrics.registry import MetricRegistry
from exporter.settings import Settings


def assets(registry: MetricRegistry, settings: Settings) -> list[Asset]:
    """Everything `push` keeps: monitors, SLOs, then the dashboard."""
    return [*monitors(registry, settings), *slos(registry, settings), dashboard(registry, settings)]


def run(command: str, settings: Settings, registry: MetricRegistry, dry_run: bool = False) -> int:
    """Print one kind of asset as JSON, or push them all; 1 when Datadog or a key fails."""
    if command == "dashboard":
        print(json.dumps(dashboard(registry, settings).body, indent=2))
        return 0
    if command in ("monitors", "slos"):
        found = monitors(registry, settings) if command == "monitors" else slos(registry, settings)
        print(json.dumps([asset.body for asset in found], indent=2))
        return 0
    try:
        api = DatadogApi(settings, datadog_keys(settings))
    except KeysError as exc:
        print(f"exporter: {exc}", file=sys.stderr)
        return 1
    try:
        result = push(assets(registry, settings), api, dry_run=dry_run)
    except PushError as exc:
        print(f"exporter: {exc}", file=sys.stderr)
        return 1
    finally:
        api.close()
    print(render(result, dry_run))
    return 0
