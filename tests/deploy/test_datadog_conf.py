"""The agent conf is generated from the exporter's catalog, current, and documented option by option."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from exporter.catalog import SCORE_METRICS, catalog
from exporter.metrics.registry import default_registry
from exporter.settings import Settings
from tests.deploy.conftest import CHART, CONF, ROOT, shipped_conf

GENERATOR = ROOT / "scripts" / "gen_datadog_conf.py"


def test_the_committed_conf_and_chart_instance_are_what_the_generator_writes_from_the_catalog() -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DD_")}
    done = subprocess.run([sys.executable, str(GENERATOR), "--check"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_every_catalog_family_has_exactly_one_mapping() -> None:
    mapped = [raw for entry in shipped_conf()["instances"][0]["metrics"] for raw in entry]
    exposed = [f"{entry.name}_info" if entry.kind == "info" else entry.name for entry in catalog()]
    assert sorted(mapped) == sorted(exposed)


def test_the_old_gauges_keep_their_dotted_names_and_the_exporters_own_metrics_get_a_prefix() -> None:
    targets = {raw: target for entry in shipped_conf()["instances"][0]["metrics"] for raw, target in entry.items()}
    assert targets["ci_tests_passing_on_main"] == {"name": "ci.tests_passing_on_main", "type": "gauge"}
    assert targets["commits_hotfix"] == {"name": "commits.hotfix", "type": "gauge"}
    assert targets["commits_reverts"] == {"name": "commits.reverts", "type": "gauge"}
    registry_names = {spec.name for spec in default_registry()}
    scores = {entry.name for entry in SCORE_METRICS}
    own = {raw: target["name"] for raw, target in targets.items() if raw not in registry_names | scores}
    assert own and all(name.startswith("system_health.exporter.") for name in own.values())


def test_the_goal_scores_arrive_as_system_health_goal_met_score_and_score_overall() -> None:
    targets = {raw: target for entry in shipped_conf()["instances"][0]["metrics"] for raw, target in entry.items()}
    assert {
        raw: targets[raw] for raw in ("system_health_goal_met", "system_health_score", "system_health_score_overall")
    } == {
        "system_health_goal_met": {"name": "system_health.goal_met", "type": "gauge"},
        "system_health_score": {"name": "system_health.score", "type": "gauge"},
        "system_health_score_overall": {"name": "system_health.score_overall", "type": "gauge"},
    }


def test_the_host_instance_scrapes_every_15_minutes_without_a_prefix_and_with_the_old_tags() -> None:
    conf = shipped_conf()
    (instance,) = conf["instances"]
    assert instance["openmetrics_endpoint"] == "http://localhost:9877/metrics"
    assert instance["namespace"] == ""
    assert instance["min_collection_interval"] == 900
    assert instance["timeout"] == 10
    assert instance["tag_by_endpoint"] is False
    assert instance["tags"] == ["source:softmax-system-health", "service:metta", "env:development"]


def test_the_timeout_leaves_room_for_the_exporters_default_wait_on_a_scrape() -> None:
    assert shipped_conf()["instances"][0]["timeout"] > Settings.from_env({}).scrape_wait_seconds


def test_every_option_of_the_instance_is_documented_above_it() -> None:
    text = CONF.read_text()
    for option in shipped_conf()["instances"][0]:
        assert re.search(rf"## @param {option} - ", text), option


def test_the_generator_tags_a_host_conf_with_the_dd_variables_it_runs_with(tmp_path: Path) -> None:
    out = tmp_path / "conf.yaml"
    env = {key: value for key, value in os.environ.items() if not key.startswith("DD_")}
    env.update(DD_SERVICE="system-health", DD_ENV="production", DD_VERSION="1.4.0")
    subprocess.run([sys.executable, str(GENERATOR), "--conf", str(out)], env=env, check=True, capture_output=True)

    tags = yaml.safe_load(out.read_text())["instances"][0]["tags"]
    assert tags == ["source:softmax-system-health", "service:system-health", "env:production", "version:1.4.0"]


def test_the_chart_carries_the_same_instance_less_the_endpoint_and_service_tags() -> None:
    chart_instance = json.loads((CHART / "files" / "openmetrics-instance.json").read_text())
    host = shipped_conf()["instances"][0]
    assert {k: v for k, v in host.items() if k not in ("openmetrics_endpoint", "tags")} == {
        k: v for k, v in chart_instance.items() if k != "tags"
    }
    assert chart_instance["tags"] == ["source:softmax-system-health"]
