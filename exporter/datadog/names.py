"""Exposition name → Datadog name and type, for every family of the catalog."""

from __future__ import annotations

from dataclasses import dataclass

from exporter.catalog import PREFIX, CatalogEntry, catalog
from exporter.metrics.registry import MetricRegistry, default_registry

SOURCE_TAG = "source:softmax-system-health"
SELF_NAMESPACE = "system_health.exporter"


@dataclass(frozen=True)
class DatadogMetric:
    """One family as it reaches Datadog: `raw` as the agent parses it, `name` and `type` as Datadog stores it."""

    raw: str
    name: str
    type: str
    entry: CatalogEntry

    @property
    def queried(self) -> str:
        """The name a query uses: a counter arrives as `<name>.count` (a monotonic count)."""
        return f"{self.name}.count" if self.type == "counter" else self.name


def datadog_metrics(registry: MetricRegistry | None = None) -> list[DatadogMetric]:
    """Every family of `catalog(registry)` (default: the shipped registry), in catalog order."""
    metrics = registry if registry is not None else default_registry()
    keys = {spec.name: spec.key for spec in metrics}
    mapped: list[DatadogMetric] = []
    for entry in catalog(metrics):
        if entry.name in keys:
            mapped.append(DatadogMetric(entry.name, keys[entry.name], "gauge", entry))
        elif entry.datadog_name is not None:
            # The goal scores keep a short name of their own (system_health.score), not the exporter's prefix.
            mapped.append(DatadogMetric(entry.name, entry.datadog_name, entry.kind, entry))
        elif entry.kind == "info":
            # Prometheus text format exposes an info family as the gauge `<name>_info`, value 1.
            suffix = entry.name.removeprefix(PREFIX).lstrip("_")  # the exporter's own: "", a shard's: "shard"
            name = f"{SELF_NAMESPACE}.{suffix + '_' if suffix else ''}info"
            mapped.append(DatadogMetric(f"{entry.name}_info", name, "gauge", entry))
        elif entry.name.startswith(f"{PREFIX}_"):
            suffix = entry.name.removeprefix(f"{PREFIX}_")
            # Counters arrive in Datadog as `<name>.count` (monotonic count), as for every counter.
            mapped.append(DatadogMetric(entry.name, f"{SELF_NAMESPACE}.{suffix}", entry.kind, entry))
        else:
            raise ValueError(f"catalog entry {entry.name!r} is neither a registry metric nor {PREFIX}_*")
    return mapped


def queried_names(registry: MetricRegistry | None = None) -> frozenset[str]:
    """Every metric name a Datadog query may use for this registry's catalog."""
    return frozenset(metric.queried for metric in datadog_metrics(registry))
