"""The Datadog agent's own OpenMetrics V2 check scrapes a real exporter with the shipped instances."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from exporter.demo import FakeGitHub
from exporter.demo.model import FakePull
from exporter.metrics.registry import default_registry
from tests.deploy.conftest import BROKEN, GOOD, exporter_env, kind, render_chart, shipped_conf

CONCLUSIONS = ("success", "failure", "cancelled", "timed_out", "other")
OLD_TAGS = ["env:development", "service:metta", "source:softmax-system-health"]
HEALTH_OK, HEALTH_CRITICAL = 0, 2


def with_endpoint(instance: dict[str, Any], url: str) -> dict[str, Any]:
    """The instance with only its endpoint changed."""
    return {**instance, "openmetrics_endpoint": f"{url}/metrics"}


def sent(result: dict[str, Any], name: str) -> list[tuple[str, float, list[str]]]:
    """(type, value, tags) of every submission of one Datadog metric, sorted by tags."""
    return sorted(
        ((m["type"], m["value"], m["tags"]) for m in result["metrics"] if m["name"] == name), key=lambda item: item[2]
    )


def expected_from_exposition(exposition: str, instance: dict[str, Any]) -> list[tuple[str, str, float, list[str]]]:
    """What the agent should send for an exposition: mapped names, labels as (renamed) tags, same values."""
    mapping = {raw: target for entry in instance["metrics"] for raw, target in entry.items()}
    renamed = instance["rename_labels"]
    expected = []
    for family in text_string_to_metric_families(exposition):
        target = mapping.get(family.name)
        if target is None:
            continue
        counter = target["type"] == "counter"
        name, dd_type = (f"{target['name']}.count", "monotonic_count") if counter else (target["name"], "gauge")
        for sample in family.samples:
            if sample.name not in (family.name, f"{family.name}_total"):
                continue
            tags = [f"{renamed.get(key, key)}:{value}" for key, value in sample.labels.items()]
            expected.append((name, dd_type, sample.value, sorted([*instance["tags"], *tags])))
    return sorted(expected, key=lambda item: (item[0], item[3]))


def assert_same_submissions(result: dict[str, Any], exposition: str, instance: dict[str, Any]) -> None:
    """Every exposed sample arrives, exactly once, with the right name, type, value and tags."""
    got = sorted(
        ((m["name"], m["type"], m["value"], m["tags"]) for m in result["metrics"]), key=lambda item: (item[0], item[3])
    )
    want = expected_from_exposition(exposition, instance)
    assert [(n, t, tags) for n, t, _, tags in got] == [(n, t, tags) for n, t, _, tags in want]
    for (name, _, value, _), (_, _, wanted, _) in zip(got, want, strict=True):
        if not name.endswith("value_age_seconds"):  # computed at each scrape
            assert value == wanted, name


def test_the_shipped_conf_sends_the_old_gauges_with_the_old_names_tags_and_values(
    deploy_github: FakeGitHub, start_exporter: Any, agent_check: Any
) -> None:
    exporter = start_exporter(exporter_env(deploy_github))
    conf = shipped_conf()
    instance = with_endpoint(conf["instances"][0], exporter.url)

    result = agent_check(instance, conf["init_config"]).run()

    assert result["error"] == ""
    assert sent(result, "ci.tests_passing_on_main") == [
        ("gauge", 0.0, sorted([*OLD_TAGS, f"repo:{BROKEN}", "branch:main", "workflow:checks.yml"])),
        ("gauge", 1.0, sorted([*OLD_TAGS, f"repo:{GOOD}", "branch:main", "workflow:checks.yml"])),
    ]
    assert sent(result, "commits.hotfix") == [("gauge", 2.0, sorted([*OLD_TAGS, f"repo:{GOOD}", "branch:main"]))]
    assert sent(result, "commits.reverts") == [("gauge", 1.0, sorted([*OLD_TAGS, f"repo:{GOOD}", "branch:main"]))]
    assert result["service_checks"] == [
        {"name": "openmetrics.health", "status": HEALTH_OK, "tags": OLD_TAGS, "message": ""}
    ]


def test_every_exposed_sample_reaches_datadog_under_its_mapped_name_with_its_labels_as_tags(
    deploy_github: FakeGitHub, start_exporter: Any, agent_check: Any
) -> None:
    exporter = start_exporter(exporter_env(deploy_github))
    conf = shipped_conf()
    instance = with_endpoint(conf["instances"][0], exporter.url)

    result = agent_check(instance, conf["init_config"]).run()
    exposition = httpx.get(f"{exporter.url}/metrics", timeout=10).text

    assert result["error"] == ""
    assert_same_submissions(result, exposition, instance)
    assert sent(result, "system_health.exporter.metric_success") == sorted(
        [
            (
                "gauge",
                0.0 if repo == BROKEN and metric.startswith("commits.") else 1.0,  # BROKEN's commits answer 500
                sorted([*OLD_TAGS, f"repo:{repo}", f"metric:{metric}"]),
            )
            for repo in (GOOD, BROKEN)
            for metric in (spec.key for spec in default_registry())
        ],
        key=lambda item: item[2],
    )
    errors = sent(result, "system_health.exporter.refresh_errors.count")
    assert {tag for _, _, tags in errors for tag in tags if tag.startswith("repo:")} == {f"repo:{BROKEN}"}
    assert sent(result, "system_health.exporter.info") == [
        (
            "gauge",
            1.0,
            sorted(
                [
                    *OLD_TAGS,
                    "exporter_env:development",
                    "exporter_service:metta",
                    f"exporter_version:{_exporter_version()}",
                ]
            ),
        )
    ]


def test_every_ci_and_pull_request_flow_series_reaches_datadog_under_its_mapped_name(
    deploy_github: FakeGitHub, start_exporter: Any, agent_check: Any
) -> None:
    now = deploy_github.clock()
    deploy_github.repo(GOOD).pulls.extend(
        [
            FakePull(1, "Open", now - timedelta(days=1)),
            FakePull(2, "Stale", now - timedelta(days=40), now - timedelta(days=20)),
            FakePull(3, "Merged", now - timedelta(hours=6), merged_at=now - timedelta(hours=2)),
        ]
    )
    exporter = start_exporter(exporter_env(deploy_github))
    conf = shipped_conf()
    instance = with_endpoint(conf["instances"][0], exporter.url)

    result = agent_check(instance, conf["init_config"]).run()

    assert result["error"] == ""
    good = [*OLD_TAGS, f"repo:{GOOD}", "branch:main"]
    ci = [*good, "workflow:checks.yml"]
    assert sent(result, "ci.main_red_seconds")[1] == ("gauge", 0.0, sorted(ci))
    assert sent(result, "ci.main_red_seconds")[0][1] > 0  # BROKEN: its only run failed, three hours ago
    assert [(value, tags) for _, value, tags in sent(result, "ci.runs") if f"repo:{GOOD}" in tags] == sorted(
        [(1.0 if c == "success" else 0.0, sorted([*ci, f"conclusion:{c}"])) for c in CONCLUSIONS],
        key=lambda item: item[1],
    )
    assert ("gauge", 0.0, sorted(ci)) in sent(result, "ci.flaky_runs")
    assert ("gauge", 420.0, sorted([*ci, "percentile:50"])) in sent(result, "ci.run_duration_seconds")
    assert ("gauge", 420.0, sorted([*ci, "percentile:90"])) in sent(result, "ci.run_duration_seconds")
    assert ("gauge", 2.0, sorted(good)) in sent(result, "prs.open")
    assert ("gauge", 1.0, sorted(good)) in sent(result, "prs.stale")
    assert ("gauge", 1.0, sorted(good)) in sent(result, "prs.merged")
    assert sent(result, "prs.time_to_merge_seconds") == [
        ("gauge", 14400.0, sorted([*good, f"percentile:{p}"])) for p in ("50", "90")
    ]


def _exporter_version() -> str:
    from exporter import __version__

    return __version__


def test_a_stopped_exporter_makes_the_health_check_critical_and_the_check_recovers_when_it_is_back(
    deploy_github: FakeGitHub, start_exporter: Any, agent_check: Any
) -> None:
    env = exporter_env(deploy_github)
    exporter = start_exporter(env)
    conf = shipped_conf()
    check = agent_check(with_endpoint(conf["instances"][0], exporter.url), conf["init_config"])
    assert check.run()["service_checks"][0]["status"] == HEALTH_OK

    exporter.stop()
    down = check.run()

    assert json.loads(down["error"])[0]["message"]  # run() reports the error instead of raising
    assert down["metrics"] == []
    assert [(c["name"], c["status"], c["tags"]) for c in down["service_checks"]] == [
        ("openmetrics.health", HEALTH_CRITICAL, OLD_TAGS)
    ]

    start_exporter(env, port=exporter.port)
    back = check.run()

    assert back["error"] == ""
    assert back["service_checks"][0]["status"] == HEALTH_OK
    assert sent(back, "commits.hotfix")[0][1] == 2.0


def test_the_helm_annotation_instance_scrapes_the_exporter_run_as_the_chart_runs_it(
    deploy_github: FakeGitHub, start_exporter: Any, agent_check: Any, deploy_bin: Any
) -> None:
    values = {
        "datadog": {"service": "system-health", "env": "production", "version": "1.4.0"},
        "config": {"EXPORTER_REPOS": f"{GOOD},{BROKEN}", "EXPORTER_GITHUB_RETRIES": "0"},
    }
    deployment = kind(render_chart(deploy_bin, values), "Deployment")
    pod = deployment["spec"]["template"]
    checks = json.loads(pod["metadata"]["annotations"]["ad.datadoghq.com/exporter.checks"])["openmetrics"]
    env = chart_environment(pod, deploy_github.url)
    exporter = start_exporter(env)
    instance = with_endpoint(checks["instances"][0], exporter.url)

    result = agent_check(instance, checks["init_config"]).run()
    exposition = httpx.get(f"{exporter.url}/metrics", timeout=10).text

    tags = ["env:production", "service:system-health", "source:softmax-system-health", "version:1.4.0"]
    assert result["error"] == ""
    assert sent(result, "commits.hotfix") == [("gauge", 2.0, sorted([*tags, f"repo:{GOOD}", "branch:main"]))]
    assert sent(result, "system_health.exporter.info")[0][2] == sorted(
        [*tags, "exporter_env:production", "exporter_service:system-health", f"exporter_version:{_exporter_version()}"]
    )
    assert_same_submissions(result, exposition, instance)
    assert result["service_checks"] == [
        {"name": "openmetrics.health", "status": HEALTH_OK, "tags": tags, "message": ""}
    ]


def chart_environment(pod: dict[str, Any], github_url: str) -> dict[str, str]:
    """The container's environment as Kubernetes would give it, on loopback against the fake GitHub."""
    (container,) = pod["spec"]["containers"]
    labels = pod["metadata"]["labels"]
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DD_", "EXPORTER_"))}
    for var in container["env"]:
        if "value" in var:
            env[var["name"]] = var["value"]
        elif "fieldRef" in var.get("valueFrom", {}):
            path = var["valueFrom"]["fieldRef"]["fieldPath"]
            env[var["name"]] = "127.0.0.1" if path == "status.hostIP" else labels[path.split("'")[1]]
    env.update(EXPORTER_GITHUB_API_URL=github_url, GITHUB_TOKEN="t")
    return env
