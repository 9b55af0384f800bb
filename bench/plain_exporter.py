"""The baseline: a plain `prometheus_client.start_http_server` exporter serving given series.

`python -m bench.plain_exporter EXPOSITION_FILE PORT` parses an exposition (the exporter's own
/metrics), sets `Gauge`, `Counter` and `Info` objects to its samples once and serves them on
127.0.0.1:PORT until stdin closes, the way a simple exporter whose values a loop updates would.
"""

from __future__ import annotations

import sys

from prometheus_client import CollectorRegistry, Counter, Gauge, Info, start_http_server
from prometheus_client.parser import text_string_to_metric_families


def registry_from(text: str) -> CollectorRegistry:
    registry = CollectorRegistry()
    for family in text_string_to_metric_families(text):
        samples = [s for s in family.samples if not s.name.endswith("_created")]
        if not samples:
            continue
        labels = sorted(samples[0].labels)
        if family.type == "info":
            Info(family.name, family.documentation, registry=registry).info(samples[0].labels)
            continue
        kind = Counter if family.type == "counter" else Gauge
        metric = kind(family.name, family.documentation, labels, registry=registry)
        for sample in samples:
            child = metric.labels(**sample.labels) if labels else metric
            if isinstance(child, Counter):
                child.inc(sample.value)
            else:
                child.set(sample.value)
    return registry


def main() -> None:
    path, port = sys.argv[1], int(sys.argv[2])
    with open(path) as source:
        registry = registry_from(source.read())
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    print("ready", flush=True)
    try:
        sys.stdin.read()  # serve until the bench closes our stdin (or terminates us)
    finally:
        server.shutdown()
        thread.join(timeout=5)


if __name__ == "__main__":
    main()
