r"""Write the Datadog agent's OpenMetrics instance from the exporter's metric catalog.

One source of truth for what the agent does with the exporter's metrics: this script writes both
`datadog-agent-conf/conf.d/openmetrics.d/conf.yaml` (an agent on a host or VM) and the Helm chart's
`files/openmetrics-instance.json` (the pod's Autodiscovery annotation). Every family in
`exporter.catalog.catalog()` gets a mapping, so a new metric cannot reach Datadog under a
different name, or not at all. The host file's `service`, `env` and `version` tags come from
DD_SERVICE, DD_ENV and DD_VERSION, read through the exporter's own Settings, as the old job did:

    DD_ENV=production DD_VERSION=1.4.0 python scripts/gen_datadog_conf.py \
        --conf /etc/datadog-agent/conf.d/openmetrics.d/conf.yaml

`--check` writes nothing and exits 1 when a committed file differs from what the defaults give.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from exporter.catalog import PREFIX, CatalogEntry, catalog  # noqa: E402
from exporter.metrics.registry import default_registry  # noqa: E402
from exporter.settings import Settings  # noqa: E402

CONF_PATH = ROOT / "datadog-agent-conf" / "conf.d" / "openmetrics.d" / "conf.yaml"
CHART_INSTANCE_PATH = ROOT / "helm" / "system-health-exporter" / "files" / "openmetrics-instance.json"

SOURCE_TAG = "source:softmax-system-health"
SELF_NAMESPACE = "system_health.exporter"
MIN_COLLECTION_INTERVAL = 900
# The exporter answers within EXPORTER_SCRAPE_WAIT_SECONDS (default 5) even while GitHub is slow.
TIMEOUT_SECONDS = 10
DEFAULT_ENDPOINT = "http://localhost:9877/metrics"
# The info metric's labels would clash with the unified service tags the instance sets itself.
RENAMED_LABELS = {"version": "exporter_version", "service": "exporter_service", "env": "exporter_env"}


def datadog_names() -> dict[str, tuple[str, str, CatalogEntry]]:
    """Raw family name as the agent parses it -> (Datadog name, Datadog type, catalog entry)."""
    keys = {spec.name: spec.key for spec in default_registry()}
    mapping: dict[str, tuple[str, str, CatalogEntry]] = {}
    for entry in catalog():
        if entry.name in keys:
            mapping[entry.name] = (keys[entry.name], "gauge", entry)
        elif entry.datadog_name is not None:
            # The goal scores keep a short name of their own (system_health.score), not the exporter's prefix.
            mapping[entry.name] = (entry.datadog_name, entry.kind, entry)
        elif entry.kind == "info":
            # Prometheus text format exposes an info family as the gauge `<name>_info`, value 1.
            suffix = entry.name.removeprefix(PREFIX).lstrip("_")  # the exporter's own: "", a shard's: "shard"
            mapping[f"{entry.name}_info"] = (f"{SELF_NAMESPACE}.{suffix + '_' if suffix else ''}info", "gauge", entry)
        elif entry.name.startswith(f"{PREFIX}_"):
            suffix = entry.name.removeprefix(f"{PREFIX}_")
            # Counters arrive in Datadog as `<name>.count` (monotonic count), as for every counter.
            mapping[entry.name] = (f"{SELF_NAMESPACE}.{suffix}", entry.kind, entry)
        else:
            raise ValueError(f"catalog entry {entry.name!r} is neither a registry metric nor {PREFIX}_*")
    return mapping


def service_tags(service: str, env: str, version: str | None) -> list[str]:
    """Unified service tags, as the old job set them (no version tag when DD_VERSION is unset)."""
    tags = [f"service:{service}", f"env:{env}"]
    return [*tags, f"version:{version}"] if version else tags


def shared_instance() -> dict[str, Any]:
    """The instance both deployments share; the endpoint and service tags are added per deployment."""
    return {
        "namespace": "",
        "metrics": [{raw: {"name": name, "type": kind}} for raw, (name, kind, _) in datadog_names().items()],
        "rename_labels": RENAMED_LABELS,
        "tag_by_endpoint": False,
        "tags": [SOURCE_TAG],
        "timeout": TIMEOUT_SECONDS,
        "min_collection_interval": MIN_COLLECTION_INTERVAL,
    }


def host_instance(settings: Settings) -> dict[str, Any]:
    """The instance of the host/VM conf.d file, tagged from the DD_* settings."""
    instance = {"openmetrics_endpoint": DEFAULT_ENDPOINT, **shared_instance()}
    instance["tags"] = [*instance["tags"], *service_tags(settings.dd_service, settings.dd_env, settings.dd_version)]
    return instance


def _q(value: object) -> str:
    return json.dumps(value)


def _option(lines: list[str], doc: Sequence[str]) -> None:
    lines.append("")
    lines.extend(f"    ## {line}".rstrip() for line in doc)
    lines.append("    #")


def render_conf(instance: Mapping[str, Any]) -> str:
    """The conf.d file: the instance, every option commented as in Datadog's conf.yaml.example."""
    names = datadog_names()
    out = [
        "## Generated by scripts/gen_datadog_conf.py from the exporter's metric catalog; do not edit.",
        "## To change a name, change exporter/catalog.py or the script, then run",
        "##   DD_SERVICE=... DD_ENV=... DD_VERSION=... python scripts/gen_datadog_conf.py",
        "## The Helm chart's Autodiscovery annotation carries the same instance (helm/README.md).",
        "",
        "## All options defined here are available to all instances.",
        "#",
        "init_config:",
        "",
        "## Every instance is scheduled independently of the others.",
        "#",
        "instances:",
    ]
    _option(
        out,
        [
            "@param openmetrics_endpoint - string - required",
            "The URL of the exporter's /metrics page (`python -m exporter serve`, port 9877).",
            "Using this option selects the OpenMetrics V2 implementation of the check.",
        ],
    )
    out.append(f"  - openmetrics_endpoint: {_q(instance['openmetrics_endpoint'])}")
    _option(
        out,
        [
            "@param namespace - string - required",
            "The prefix of every metric name. Empty, so that the names below arrive in Datadog exactly",
            "as the old cron job sent them (ci.tests_passing_on_main, commits.hotfix, commits.reverts).",
            "The health service check is then called `openmetrics.health`.",
        ],
    )
    out.append(f"    namespace: {_q(instance['namespace'])}")
    _option(
        out,
        [
            "@param metrics - (list of string or mapping) - required",
            "The exposed families to collect and the Datadog name and type of each; anything not",
            "listed is ignored. One entry per family of the exporter's catalog:",
            "the system-health gauges keep their old dotted names, their goal scores are",
            "system_health.goal_met, .score and .score_overall, and the exporter's own health",
            f"metrics are under `{SELF_NAMESPACE}.`. Counters arrive as `<name>.count`.",
        ],
    )
    out.append("    metrics:")
    for entry in instance["metrics"]:
        ((raw, target),) = entry.items()
        description = names[raw][2].description
        out.append(f"        # {description}")
        out.append(f"      - {raw}: {{name: {target['name']}, type: {target['type']}}}")
    _option(
        out,
        [
            "@param rename_labels - mapping - optional",
            "Label names to rename before they become tags. The exporter's info metric carries its own",
            "version, service and env labels; renamed, they do not clash with the unified service tags.",
        ],
    )
    out.append("    rename_labels:")
    out.extend(f"      {label}: {renamed}" for label, renamed in instance["rename_labels"].items())
    _option(
        out,
        [
            "@param tag_by_endpoint - boolean - optional - default: true",
            "Off, so no `endpoint:` tag: the series keep exactly the old job's tags plus the exporter's",
            "labels (repo, branch, workflow...), and a new pod address does not start new series.",
        ],
    )
    out.append(f"    tag_by_endpoint: {_q(instance['tag_by_endpoint'])}")
    _option(
        out,
        [
            "@param tags - list of strings - optional",
            "Tags attached to every metric and service check, as the old job tagged them: its source,",
            "and service/env/version from DD_SERVICE, DD_ENV and DD_VERSION (no version tag if unset).",
        ],
    )
    out.append("    tags:")
    out.extend(f"      - {_q(tag)}" for tag in instance["tags"])
    _option(
        out,
        [
            "@param timeout - number - optional - default: 10",
            "Seconds to wait for /metrics. The exporter answers within EXPORTER_SCRAPE_WAIT_SECONDS",
            "(default 5), serving its cache if a refresh from GitHub takes longer.",
        ],
    )
    out.append(f"    timeout: {_q(instance['timeout'])}")
    _option(
        out,
        [
            "@param min_collection_interval - number - optional - default: 15",
            "Seconds between two runs of this instance: every 15 minutes, the old CronJob's schedule.",
        ],
    )
    out.append(f"    min_collection_interval: {_q(instance['min_collection_interval'])}")
    return "\n".join(out) + "\n"


def render_chart_instance() -> str:
    """The chart's copy of the shared instance, as JSON (Helm reads it with fromJson)."""
    return json.dumps(shared_instance(), indent=2) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Write (or with --check, compare) the conf.d file and the chart's instance."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conf", type=Path, default=CONF_PATH, help="where to write the conf.d file")
    parser.add_argument("--check", action="store_true", help="fail when a committed file is out of date")
    args = parser.parse_args(argv)
    # The committed file carries the defaults; a host's copy is written with its own DD_* values.
    settings = Settings.from_env({} if args.check else None)
    wanted = {
        args.conf: render_conf(host_instance(settings)),
        CHART_INSTANCE_PATH: render_chart_instance(),
    }
    stale = [path for path, text in wanted.items() if not path.exists() or path.read_text() != text]
    if args.check:
        for path in stale:
            print(f"{path} is out of date: run python scripts/gen_datadog_conf.py", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(wanted[path])
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
