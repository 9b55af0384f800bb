"""Settings parsed once from a mapping."""

from __future__ import annotations

import pytest

from exporter.settings import Settings, SettingsError


def test_defaults_match_the_old_job() -> None:
    settings = Settings.from_env({})
    assert settings.repos == ("Metta-AI/metta",)
    assert (settings.branch, settings.ci_workflow, settings.lookback_days) == ("main", "checks.yml", 7)
    assert (settings.cache_ttl_seconds, settings.scrape_wait_seconds) == (300.0, 5.0)
    assert (settings.host, settings.port) == ("127.0.0.1", 9877)
    assert settings.github_token_secret_id == "github/dashboard-token"
    assert (settings.dd_service, settings.dd_env, settings.dd_version) == ("metta", "development", None)


def test_lists_are_comma_separated_and_trimmed() -> None:
    settings = Settings.from_env({"EXPORTER_REPOS": " a/b , c/d ,", "EXPORTER_CI_REQUIRED_JOBS": "Tests, Lint"})
    assert settings.repos == ("a/b", "c/d")
    assert settings.required_jobs == frozenset({"tests", "lint"})


@pytest.mark.parametrize(
    "variable,bad",
    [
        ("EXPORTER_PORT", "abc"),
        ("EXPORTER_PORT", "70000"),
        ("EXPORTER_REPOS", "no-slash"),
        ("EXPORTER_REPOS", "a/b,a/b"),
        ("EXPORTER_LOOKBACK_DAYS", "0"),
        ("EXPORTER_CACHE_TTL_SECONDS", "-1"),
        ("EXPORTER_ALLOW_ANONYMOUS", "maybe"),
        ("EXPORTER_GITHUB_API_URL", "ftp://x"),
        ("EXPORTER_LOG_LEVEL", "LOUD"),
    ],
)
def test_a_bad_value_names_the_variable_and_the_value(variable: str, bad: str) -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env({variable: bad})
    assert f"{variable}={bad!r}" in str(error.value)


def test_a_bad_token_value_is_named_but_never_shown() -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env({"GITHUB_TOKEN": "ghp_secret_value", "EXPORTER_PORT": "x"})
    assert "ghp_secret_value" not in str(error.value)


def test_the_token_is_a_secret_that_does_not_print() -> None:
    settings = Settings.from_env({"GITHUB_TOKEN": "ghp_secret_value"})
    assert "ghp_secret_value" not in repr(settings)
    assert settings.github_token is not None
    assert settings.github_token.get_secret_value() == "ghp_secret_value"


def test_settings_are_frozen() -> None:
    settings = Settings.from_env({})
    with pytest.raises(ValueError, match="frozen"):
        settings.port = 1  # type: ignore[misc]
