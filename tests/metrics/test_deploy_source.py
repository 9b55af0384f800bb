"""EXPORTER_DEPLOY_SOURCE and EXPORTER_DEPLOY_SOURCES: their grammar and the errors of a bad value."""

from __future__ import annotations

import pytest

from exporter.metrics.deploy_source import DeploySource
from exporter.settings import Settings, SettingsError


def test_by_default_deployments_come_from_github_deployments_to_production() -> None:
    settings = Settings.from_env({})
    assert settings.deploy_source == DeploySource("deployments", "production")
    assert settings.deploy_source_for("Metta-AI/metta") == DeploySource("deployments", "production")


@pytest.mark.parametrize(
    "text,source",
    [
        ("deployments", DeploySource("deployments", "production")),
        ("deployments:staging", DeploySource("deployments", "staging")),
        (" Deployments : prod-eu ", DeploySource("deployments", "prod-eu")),
        ("workflow:deploy.yml", DeploySource("workflow", "deploy.yml")),
        ("workflow:release.yaml", DeploySource("workflow", "release.yaml")),
        ("workflow:161335", DeploySource("workflow", "161335")),
        ("releases", DeploySource("releases")),
    ],
)
def test_each_source_is_written_kind_colon_name(text: str, source: DeploySource) -> None:
    assert Settings.from_env({"EXPORTER_DEPLOY_SOURCE": text}).deploy_source == source


@pytest.mark.parametrize(
    "bad",
    ["deploys", "workflow", "workflow:", "workflow:deploy", "workflow:.github/workflows/deploy.yml", "releases:v1"],
)
def test_a_source_outside_the_grammar_stops_the_start_naming_the_variable_and_the_value(bad: str) -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env({"EXPORTER_DEPLOY_SOURCE": bad})
    assert f"EXPORTER_DEPLOY_SOURCE={bad!r}" in str(error.value)
    assert "deployments[:ENVIRONMENT], workflow:FILE" in str(error.value)


def test_a_repository_may_have_a_source_of_its_own_named_in_any_case() -> None:
    settings = Settings.from_env(
        {
            "EXPORTER_REPOS": "octo/api,octo/cli,octo/web",
            "EXPORTER_DEPLOY_SOURCE": "workflow:deploy.yml",
            "EXPORTER_DEPLOY_SOURCES": "Octo/API=deployments:prod, octo/cli = releases,",
        }
    )
    assert settings.deploy_source_for("octo/api") == DeploySource("deployments", "prod")
    assert settings.deploy_source_for("OCTO/CLI") == DeploySource("releases")
    assert settings.deploy_source_for("octo/web") == DeploySource("workflow", "deploy.yml")


@pytest.mark.parametrize(
    "overrides,problem",
    [
        ("octo/other=releases", "'octo/other' is not one of EXPORTER_REPOS"),
        ("octo/api", "is not owner/name=SOURCE"),
        ("octo/api=releases,OCTO/API=deployments", "given a source twice"),
        ("octo/api=nightly", "'nightly' is not deployments"),
    ],
)
def test_a_bad_override_stops_the_start_naming_the_variable_and_the_value(overrides: str, problem: str) -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env({"EXPORTER_REPOS": "octo/api", "EXPORTER_DEPLOY_SOURCES": overrides})
    assert "EXPORTER_DEPLOY_SOURCES=" in str(error.value) and problem in str(error.value)
