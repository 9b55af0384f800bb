"""The Datadog agent's OpenMetrics check sends the DORA keys under their mapped names, one series per percentile."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from exporter.demo import FakeGitHub
from exporter.demo.sample import REPO, demo_repo
from tests.deploy.conftest import exporter_env, shipped_conf
from tests.deploy.test_agent_check import OLD_TAGS, assert_same_submissions, sent, with_endpoint

TAGS = sorted([*OLD_TAGS, f"repo:{REPO}", "branch:main"])


@pytest.fixture
def demo_github() -> Iterator[FakeGitHub]:
    """The fake GitHub serving the demo repository (17 production deployments, one failed), stopped after."""
    github = FakeGitHub(repos=[demo_repo(datetime.now(UTC))])
    github.start()
    try:
        yield github
    finally:
        github.stop()


def test_every_dora_series_reaches_datadog_under_its_mapped_name_with_its_percentile_as_a_tag(
    demo_github: FakeGitHub, start_exporter: Any, agent_check: Any
) -> None:
    exporter = start_exporter(exporter_env(demo_github, EXPORTER_REPOS=REPO))
    conf = shipped_conf()
    instance = with_endpoint(conf["instances"][0], exporter.url)

    result = agent_check(instance, conf["init_config"]).run()
    exposition = httpx.get(f"{exporter.url}/metrics", timeout=10).text

    assert result["error"] == ""
    assert_same_submissions(result, exposition, instance)
    assert [tags for _, _, tags in sent(result, "dora.deployments")] == [TAGS]
    assert [tags for _, _, tags in sent(result, "dora.change_failure_rate")] == [TAGS]
    assert [tags for _, _, tags in sent(result, "dora.lead_time_seconds")] == [
        sorted([*TAGS, "percentile:50"]),
        sorted([*TAGS, "percentile:90"]),
    ]
    assert [tags for _, _, tags in sent(result, "dora.time_to_restore_seconds")] == [sorted([*TAGS, "percentile:50"])]
