"""The Helm chart renders, validates against Kubernetes' schemas, passes checkov, and says what it should."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from exporter.cli import shutdown_bound_seconds
from exporter.settings import Settings
from exporter.sharding import owned
from tests.deploy.conftest import CHART, FULL_VALUES, container, kind, render_chart, shipped_conf

KUBERNETES_VERSION = "1.32.0"
# Settings the chart sets other than through `config`, and where from.
NOT_IN_CONFIG = {
    "GITHUB_TOKEN": "githubToken.existingSecret",
    "EXPORTER_REFRESH_TOKEN": "refreshToken.existingSecret",
    "EXPORTER_WEBHOOK_SECRET": "webhookSecret.existingSecret",
    "EXPORTER_GITHUB_APP_PRIVATE_KEY": "never: a key is not a value (githubApp.existingSecret, as a file)",
    "EXPORTER_GITHUB_APP_PRIVATE_KEY_FILE": "githubApp.existingSecret (the Secret mounted as a file)",
    "EXPORTER_HOST": "the container command",
    "EXPORTER_PORT": "the container command (service.port)",
    "DD_SERVICE": "datadog.service",
    "DD_ENV": "datadog.env",
    "DD_VERSION": "datadog.version",
    "DD_AGENT_HOST": "the node's IP (datadog.agentHostFromNode)",
    "EXPORTER_SHARDS": "shards",
    "EXPORTER_SHARD_INDEX": "the Deployment's index among the shards",
    "DD_API_KEY": "`exporter datadog push` only, run by a person or CI, never by the pod",
    "DD_APP_KEY": "`exporter datadog push` only",
    "EXPORTER_DD_API_KEY_SECRET_ID": "`exporter datadog push` only",
    "EXPORTER_DD_APP_KEY_SECRET_ID": "`exporter datadog push` only",
    "EXPORTER_DATADOG_API_URL": "`exporter datadog push` only",
}
# Checkov findings accepted, by value set, each with its reason.
SECRET_AS_ENV = (
    "Prefer secrets as files: the exporter reads GITHUB_TOKEN from its environment, as the old job did. "
    "The default (Secrets Manager through the service account's IAM role) keeps the token out of Kubernetes."
)
CHECKOV_SKIPS = {
    "default": {
        "CKV_K8S_43": "Image should use digest: no digest exists before the image is pushed, so the defaults "
        "name it by tag; a deployment sets image.digest, and the full-values render passes this check.",
    },
    "full": {"CKV_K8S_35": SECRET_AS_ENV},
}


def assert_valid_for_kubernetes(deploy_bin: Path, path: Path) -> None:
    """kubernetes-validate, strict, against KUBERNETES_VERSION's schemas: the rendered manifests are valid."""
    done = subprocess.run(
        [str(deploy_bin / "kubernetes-validate"), "-k", KUBERNETES_VERSION, "--strict", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def write(manifests: list[dict[str, Any]], path: Path) -> Path:
    path.write_text(yaml.safe_dump_all(manifests, sort_keys=False))
    return path


def pod_spec(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = kind(manifests, "Deployment")["spec"]["template"]["spec"]
    return spec


@pytest.mark.parametrize("values", ["default", "full"])
def test_the_rendered_chart_validates_strictly_against_the_kubernetes_schemas(
    values: str,
    default_manifests: list[dict[str, Any]],
    full_manifests: list[dict[str, Any]],
    deploy_bin: Path,
    tmp_path: Path,
) -> None:
    manifests = default_manifests if values == "default" else full_manifests
    path = write(manifests, tmp_path / "rendered.yaml")
    assert_valid_for_kubernetes(deploy_bin, path)
    assert {doc["kind"] for doc in manifests} >= {"Deployment", "Service", "ServiceAccount", "NetworkPolicy"}


@pytest.mark.parametrize("values", ["default", "full"])
def test_checkov_finds_no_failed_check_on_the_rendered_chart_but_the_explained_skips(
    values: str,
    default_manifests: list[dict[str, Any]],
    full_manifests: list[dict[str, Any]],
    deploy_bin: Path,
    tmp_path: Path,
) -> None:
    manifests = default_manifests if values == "default" else full_manifests
    skips = CHECKOV_SKIPS[values]
    path = write(manifests, tmp_path / "rendered.yaml")
    command = [
        str(deploy_bin / "checkov"),
        "-f",
        str(path),
        "--framework",
        "kubernetes",
        "--skip-download",
        "--output",
        "json",
        "--quiet",
    ]
    if skips:
        command += ["--skip-check", ",".join(skips)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    report = json.loads(done.stdout) if done.stdout.strip().startswith(("{", "[")) else {}
    failed = [
        f"{c['check_id']} {c['check_name']} ({c['resource']})"
        for c in report.get("results", {}).get("failed_checks", [])
    ]
    assert failed == [] and done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_helm_lint_strict_reports_no_warning_or_error(deploy_bin: Path) -> None:
    script = "import json, sys, helm_python as h; print(json.dumps(h.lint(sys.argv[1], strict=True)))"
    done = subprocess.run(
        [str(deploy_bin / "python"), "-c", script, str(CHART)], capture_output=True, text=True, check=True, timeout=120
    )
    report = json.loads(done.stdout)
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_one_replica_is_replaced_not_rolled_so_github_is_never_called_twice(
    default_manifests: list[dict[str, Any]],
) -> None:
    spec = kind(default_manifests, "Deployment")["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}


def test_the_container_serves_on_all_interfaces_and_is_probed_on_healthz(
    default_manifests: list[dict[str, Any]],
) -> None:
    exporter = container(default_manifests)
    assert exporter["command"] == ["python", "-m", "exporter", "serve", "--host", "0.0.0.0", "--port", "9877"]
    assert exporter["ports"] == [{"name": "http", "containerPort": 9877, "protocol": "TCP"}]
    for probe in ("livenessProbe", "readinessProbe"):
        assert exporter[probe]["httpGet"] == {"path": "/healthz", "port": "http"}
    service = kind(default_manifests, "Service")["spec"]
    assert service["ports"] == [{"name": "http", "port": 9877, "targetPort": "http", "protocol": "TCP"}]


def test_the_pod_runs_restricted(default_manifests: list[dict[str, Any]]) -> None:
    pod = pod_spec(default_manifests)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    context = container(default_manifests)["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context["runAsNonRoot"] is True and context["runAsUser"] >= 10000
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}


def test_requests_and_limits_are_set_and_far_below_the_old_jobs_2_gib(
    default_manifests: list[dict[str, Any]],
) -> None:
    resources = container(default_manifests)["resources"]
    assert set(resources) == {"requests", "limits"}
    assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}
    assert resources["limits"]["memory"] == "256Mi"


def test_the_pod_gets_longer_to_stop_than_the_exporter_may_take_after_sigterm(
    default_manifests: list[dict[str, Any]],
) -> None:
    config = yaml.safe_load((CHART / "values.yaml").read_text())["config"]
    settings = Settings.from_env({name: str(value) for name, value in config.items() if value != ""})
    assert pod_spec(default_manifests)["terminationGracePeriodSeconds"] > shutdown_bound_seconds(settings)


def test_values_have_a_key_for_every_exporter_setting() -> None:
    config = yaml.safe_load((CHART / "values.yaml").read_text())["config"]
    aliases = {field.alias for field in Settings.model_fields.values() if field.alias}
    assert set(config) == aliases - set(NOT_IN_CONFIG)


def test_every_config_value_is_passed_to_the_container_and_empty_ones_are_left_out(
    full_manifests: list[dict[str, Any]],
) -> None:
    env = {var["name"]: var for var in container(full_manifests)["env"]}
    config = yaml.safe_load((CHART / "values.yaml").read_text())["config"] | FULL_VALUES["config"]
    for name, value in config.items():
        if value == "":
            assert name not in env
        else:
            assert env[name] == {"name": name, "value": value}


def test_the_token_comes_from_an_existing_secret_when_one_is_named(full_manifests: list[dict[str, Any]]) -> None:
    env = {var["name"]: var for var in container(full_manifests)["env"]}
    assert env["GITHUB_TOKEN"]["valueFrom"] == {"secretKeyRef": {"name": "github-dashboard", "key": "token"}}
    assert env["AWS_REGION"] == {"name": "AWS_REGION", "value": "us-east-1"}


def test_without_a_secret_the_token_is_read_from_secrets_manager_with_the_service_accounts_role(
    default_manifests: list[dict[str, Any]],
    full_manifests: list[dict[str, Any]],
) -> None:
    env = {var["name"]: var for var in container(default_manifests)["env"]}
    assert "GITHUB_TOKEN" not in env
    assert env["EXPORTER_GITHUB_TOKEN_SECRET_ID"]["value"] == "github/dashboard-token"
    account = kind(full_manifests, "ServiceAccount")
    assert account["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/she"}
    assert pod_spec(full_manifests)["serviceAccountName"] == account["metadata"]["name"]


def test_unified_service_tags_label_the_pod_and_feed_the_exporters_dd_variables(
    full_manifests: list[dict[str, Any]],
) -> None:
    template = kind(full_manifests, "Deployment")["spec"]["template"]
    labels = template["metadata"]["labels"]
    assert {key: labels[key] for key in labels if key.startswith("tags.datadoghq.com/")} == {
        "tags.datadoghq.com/service": "system-health",
        "tags.datadoghq.com/env": "production",
        "tags.datadoghq.com/version": "1.4.0",
    }
    env = {var["name"]: var for var in container(full_manifests)["env"]}
    for name, label in (("DD_SERVICE", "service"), ("DD_ENV", "env"), ("DD_VERSION", "version")):
        path = env[name]["valueFrom"]["fieldRef"]["fieldPath"]
        assert path == f"metadata.labels['tags.datadoghq.com/{label}']"


def test_the_autodiscovery_annotation_carries_the_conf_d_instance_with_only_the_endpoint_changed(
    default_manifests: list[dict[str, Any]],
) -> None:
    annotations = kind(default_manifests, "Deployment")["spec"]["template"]["metadata"]["annotations"]
    checks = json.loads(annotations["ad.datadoghq.com/exporter.checks"])
    (instance,) = checks["openmetrics"]["instances"]
    host = shipped_conf()["instances"][0]
    assert instance["openmetrics_endpoint"] == "http://%%host%%:9877/metrics"
    assert {**instance, "openmetrics_endpoint": host["openmetrics_endpoint"]} == host


def test_the_image_is_pulled_by_digest_when_one_is_given(
    default_manifests: list[dict[str, Any]],
    full_manifests: list[dict[str, Any]],
) -> None:
    assert container(default_manifests)["image"] == "ghcr.io/metta-ai/system-health-exporter:0.1.0"
    assert container(full_manifests)["image"] == (
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/system-health-exporter@" + FULL_VALUES["image"]["digest"]
    )


APP_VALUES: dict[str, Any] = {
    "image": {"digest": "sha256:" + "cd" * 32},
    "config": {"EXPORTER_GITHUB_APP_ID": "123456", "EXPORTER_GITHUB_APP_INSTALLATION_ORG": "Metta-AI"},
    "githubApp": {"existingSecret": "github-app", "existingSecretKey": "app.pem"},
}


@pytest.fixture(scope="module")
def app_manifests(deploy_bin: Path) -> list[dict[str, Any]]:
    """The chart rendered for a GitHub App whose key is in a Secret."""
    return render_chart(deploy_bin, APP_VALUES)


def test_a_github_apps_key_is_mounted_read_only_as_a_file_the_exporter_is_pointed_at(
    app_manifests: list[dict[str, Any]], deploy_bin: Path, tmp_path: Path
) -> None:
    exporter = container(app_manifests)
    env = {var["name"]: var for var in exporter["env"]}
    assert env["EXPORTER_GITHUB_APP_PRIVATE_KEY_FILE"]["value"] == "/var/run/secrets/github-app/private-key.pem"
    assert "GITHUB_TOKEN" not in env and "EXPORTER_GITHUB_APP_PRIVATE_KEY" not in env
    (mount,) = [m for m in exporter["volumeMounts"] if m["name"] == "github-app-key"]
    assert mount == {"name": "github-app-key", "mountPath": "/var/run/secrets/github-app", "readOnly": True}
    (volume,) = [v for v in pod_spec(app_manifests)["volumes"] if v["name"] == "github-app-key"]
    assert volume["secret"]["secretName"] == "github-app"
    assert volume["secret"]["items"] == [{"key": "app.pem", "path": "private-key.pem"}]
    assert volume["secret"]["defaultMode"] == 0o440
    settings = Settings.from_env({name: var["value"] for name, var in env.items() if "value" in var})
    assert settings.uses_github_app and settings.github_app_private_key_file is not None
    path = write(app_manifests, tmp_path / "rendered.yaml")
    assert_valid_for_kubernetes(deploy_bin, path)
    checkov = [str(deploy_bin / "checkov"), "-f", str(path), "--framework", "kubernetes", "--skip-download"]
    done = subprocess.run([*checkov, "--output", "json", "--quiet"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_a_token_secret_and_an_app_secret_together_fail_the_render_naming_both(deploy_bin: Path) -> None:
    values = {**APP_VALUES, "githubToken": {"existingSecret": "github-dashboard"}}
    with pytest.raises(subprocess.CalledProcessError) as error:
        render_chart(deploy_bin, values)
    assert "githubToken.existingSecret" in error.value.stderr and "githubApp.existingSecret" in error.value.stderr


# --- shards -------------------------------------------------------------------------------

SHARDED_VALUES: dict[str, Any] = {
    **FULL_VALUES,
    "shards": 3,
    # Shard 0 keeps the chart's token (githubToken above); shards 1 and 2 have their own.
    "shardOverrides": [
        {},
        {"githubToken": {"existingSecret": "github-shard-1"}},
        {"githubToken": {"existingSecret": "github-shard-2", "existingSecretKey": "token"}},
    ],
}


@pytest.fixture(scope="module")
def sharded_manifests(deploy_bin: Path) -> list[dict[str, Any]]:
    """The chart rendered with `shards: 3`, a token of its own for two of them, and every other value set."""
    return render_chart(deploy_bin, SHARDED_VALUES)


def deployments(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [doc for doc in manifests if doc["kind"] == "Deployment"]


def env_of(deployment: dict[str, Any]) -> dict[str, Any]:
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return {var["name"]: var for var in only["env"]}


def test_three_shards_validate_strictly_against_the_kubernetes_schemas(
    sharded_manifests: list[dict[str, Any]], deploy_bin: Path, tmp_path: Path
) -> None:
    path = write(sharded_manifests, tmp_path / "rendered.yaml")
    assert_valid_for_kubernetes(deploy_bin, path)
    assert len(deployments(sharded_manifests)) == 3


def test_checkov_finds_no_failed_check_on_three_shards_but_the_explained_skips(
    sharded_manifests: list[dict[str, Any]], deploy_bin: Path, tmp_path: Path
) -> None:
    path = write(sharded_manifests, tmp_path / "rendered.yaml")
    command = [str(deploy_bin / "checkov"), "-f", str(path), "--framework", "kubernetes", "--skip-download"]
    command += ["--output", "json", "--quiet", "--skip-check", ",".join(CHECKOV_SKIPS["full"])]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    report = json.loads(done.stdout) if done.stdout.strip().startswith(("{", "[")) else {}
    failed = [
        f"{c['check_id']} {c['check_name']} ({c['resource']})"
        for c in report.get("results", {}).get("failed_checks", [])
    ]
    assert failed == [] and done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert len(deployments(sharded_manifests)) == 3


def test_three_shards_are_three_deployments_each_told_its_index_while_one_shard_stays_the_single_deployment(
    sharded_manifests: list[dict[str, Any]], default_manifests: list[dict[str, Any]]
) -> None:
    (single,) = deployments(default_manifests)
    assert single["metadata"]["name"] == "she-system-health-exporter"
    assert not {"EXPORTER_SHARDS", "EXPORTER_SHARD_INDEX"} & set(env_of(single))
    assert not [label for label in single["spec"]["selector"]["matchLabels"] if "shard" in label]
    found = deployments(sharded_manifests)
    indexes = [env_of(deployment)["EXPORTER_SHARD_INDEX"]["value"] for deployment in found]
    assert sorted(indexes) == ["0", "1", "2"]
    assert {env_of(deployment)["EXPORTER_SHARDS"]["value"] for deployment in found} == {"3"}
    assert sorted(deployment["metadata"]["name"] for deployment in found) == [
        f"system-health-shard-{index}" for index in range(3)
    ]
    for deployment in found:
        assert deployment["spec"]["replicas"] == 1
        assert deployment["spec"]["strategy"] == {"type": "Recreate"}


def test_each_shards_deployment_selects_only_its_own_pod_and_the_service_reaches_them_all(
    sharded_manifests: list[dict[str, Any]],
) -> None:
    pods = [deployment["spec"]["template"]["metadata"]["labels"] for deployment in deployments(sharded_manifests)]
    assert len(pods) == 3
    for deployment in deployments(sharded_manifests):
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert [all(labels.get(k) == v for k, v in selector.items()) for labels in pods].count(True) == 1
    for selector in (
        kind(sharded_manifests, "Service")["spec"]["selector"],
        kind(sharded_manifests, "NetworkPolicy")["spec"]["podSelector"]["matchLabels"],
    ):
        assert all(all(labels.get(k) == v for k, v in selector.items()) for labels in pods)


def test_every_shard_carries_the_conf_d_instance_with_the_endpoint_and_its_shard_tag_changed(
    sharded_manifests: list[dict[str, Any]],
) -> None:
    host = shipped_conf()["instances"][0]
    for deployment in deployments(sharded_manifests):
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        (instance,) = json.loads(annotations["ad.datadoghq.com/exporter.checks"])["openmetrics"]["instances"]
        index = env_of(deployment)["EXPORTER_SHARD_INDEX"]["value"]
        assert instance["openmetrics_endpoint"] == "http://%%host%%:9877/metrics"
        assert instance["tags"][-1] == f"shard:{index}"
        assert instance["metrics"] == host["metrics"]
        unchanged = {key: value for key, value in instance.items() if key not in ("openmetrics_endpoint", "tags")}
        assert unchanged == {key: value for key, value in host.items() if key not in ("openmetrics_endpoint", "tags")}


def test_a_shard_uses_its_own_token_secret_when_its_override_names_one(
    sharded_manifests: list[dict[str, Any]],
) -> None:
    tokens = {
        env_of(deployment)["EXPORTER_SHARD_INDEX"]["value"]: env_of(deployment)["GITHUB_TOKEN"]["valueFrom"]
        for deployment in deployments(sharded_manifests)
    }
    assert tokens == {
        "0": {"secretKeyRef": {"name": "github-dashboard", "key": "token"}},
        "1": {"secretKeyRef": {"name": "github-shard-1", "key": "token"}},
        "2": {"secretKeyRef": {"name": "github-shard-2", "key": "token"}},
    }


def test_the_shards_the_chart_renders_split_the_repositories_as_the_exporter_does(
    sharded_manifests: list[dict[str, Any]],
) -> None:
    repos = env_of(deployments(sharded_manifests)[0])["EXPORTER_REPOS"]["value"].split(",")
    shares = [
        owned(repos, int(env_of(d)["EXPORTER_SHARD_INDEX"]["value"]), int(env_of(d)["EXPORTER_SHARDS"]["value"]))
        for d in deployments(sharded_manifests)
    ]
    assert sorted(repo for share in shares for repo in share) == sorted(repos)
    assert {env_of(d)["EXPORTER_REPOS"]["value"] for d in deployments(sharded_manifests)} == {",".join(repos)}


@pytest.mark.parametrize(
    "values,message",
    [
        ({"shards": 0}, "shards=0: must be at least 1"),
        ({"shards": 1, "shardOverrides": [{}, {}]}, "shardOverrides has 2 entries for shards=1"),
        ({"shards": 2, "shardOverrides": [{}, {"config": {"EXPORTER_REPOS": "o/r"}}]}, "shardOverrides[1] sets"),
        ({"shards": 2, "shardOverrides": [{"config": {"EXPORTER_DISCOVERY_TOPICS": "x"}}]}, "shardOverrides[0] sets"),
        ({"shards": 2, "shardOverrides": [{}, {"config": {"EXPORTER_MAX_REPOS": "5"}}]}, "shardOverrides[1] sets"),
    ],
)
def test_a_shard_setting_the_chart_cannot_honour_fails_the_render_saying_why(
    values: dict[str, Any], message: str, deploy_bin: Path
) -> None:
    with pytest.raises(subprocess.CalledProcessError) as raised:
        render_chart(deploy_bin, values)
    assert message in raised.value.stderr
