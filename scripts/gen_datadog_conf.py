r"""Write the Datadog agent's OpenMetrics instance from the exporter's metric catalog (exporter/datadog/agent_conf.py).

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
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from exporter.datadog.agent_conf import host_instance, render_chart_instance, render_conf  # noqa: E402
from exporter.settings import Settings  # noqa: E402

CONF_PATH = ROOT / "datadog-agent-conf" / "conf.d" / "openmetrics.d" / "conf.yaml"
CHART_INSTANCE_PATH = ROOT / "helm" / "system-health-exporter" / "files" / "openmetrics-instance.json"


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
