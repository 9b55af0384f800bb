"""Run the Datadog agent's OpenMetrics V2 check the way the agent does, and print what it submits.

Runs in .venv-agent (datadog-checks-base), never imported by pytest. Usage:

    .venv-agent/bin/python agent_driver.py CHECK.json

CHECK.json holds {"init_config": {...}, "instance": {...}}. One check object is made, as the agent
makes one per instance; each line "run" on stdin runs it once and prints one JSON line with the
run's error (empty on success), metrics and service checks. The stub aggregator is reset between
runs so each answer holds only that run's submissions.
"""

from __future__ import annotations

import json
import os
import sys

# The stub aggregator rejects `env`, `service` and `version` tags, which the real agent accepts.
os.environ.setdefault("DDEV_SKIP_GENERIC_TAGS_CHECK", "1")

from datadog_checks.base.checks.openmetrics.v2.base import OpenMetricsBaseCheckV2
from datadog_checks.base.stubs import aggregator


def submissions() -> dict[str, list[dict[str, object]]]:
    """Everything the check submitted since the last reset."""
    metrics = [
        {
            "name": stub.name,
            "type": aggregator.METRIC_ENUM_MAP_REV[stub.type],
            "value": stub.value,
            "tags": sorted(stub.tags),
            "flush_first_value": stub.flush_first_value,
        }
        for stubs in aggregator._metrics.values()
        for stub in stubs
    ]
    service_checks = [
        {"name": stub.name, "status": stub.status, "tags": sorted(stub.tags), "message": stub.message}
        for stubs in aggregator._service_checks.values()
        for stub in stubs
    ]
    return {"metrics": metrics, "service_checks": service_checks}


def main() -> int:
    with open(sys.argv[1]) as handle:
        config = json.load(handle)
    check = OpenMetricsBaseCheckV2("openmetrics", config["init_config"] or {}, [config["instance"]])
    for line in sys.stdin:
        if line.strip() != "run":
            continue
        aggregator.reset()
        error = check.run()
        print(json.dumps({"error": error, **submissions()}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
