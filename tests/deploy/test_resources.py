"""The chart's memory limit holds the real exporter with room to spare."""

from __future__ import annotations

from typing import Any

import httpx

from exporter.demo import FakeGitHub
from tests.deploy.conftest import container, exporter_env

MIB = 1024


def test_the_exporter_stays_under_half_the_memory_limit_after_hundreds_of_scrapes_and_refreshes(
    deploy_github: FakeGitHub, start_exporter: Any, default_manifests: list[dict[str, Any]]
) -> None:
    exporter = start_exporter(exporter_env(deploy_github, EXPORTER_REFRESH_MIN_INTERVAL_SECONDS="0"))
    with httpx.Client(base_url=exporter.url, timeout=10) as client:
        for index in range(300):
            assert client.get("/metrics").status_code == 200
            if index % 10 == 0:
                assert client.post("/refresh").status_code == 200

    limit = container(default_manifests)["resources"]["limits"]["memory"]
    assert limit.endswith("Mi")
    assert exporter.rss_kib() < int(limit.removesuffix("Mi")) * MIB / 2
