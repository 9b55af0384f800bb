"""Settings parsed once from a mapping."""

from __future__ import annotations

import re
from pathlib import Path

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
        ("EXPORTER_REPOS", "o/.."),
        ("EXPORTER_REPOS", "o/."),
        ("EXPORTER_REPOS", "o/r.git"),
        ("EXPORTER_REPOS", "o--o/r"),
        ("EXPORTER_GITHUB_API_URL", "http://exa mple.com"),
        ("EXPORTER_GITHUB_API_URL", "https://api.github.com:99999"),
        ("EXPORTER_GITHUB_API_URL", "https://api.github.com:0"),
        ("EXPORTER_GITHUB_API_URL", "https://ghe.example.com:https/api/v3"),
        ("EXPORTER_GITHUB_API_URL", "https://ghe.example.com/api/v3?x=1"),
        ("EXPORTER_GITHUB_API_URL", "https://ghe.example.com/api/v3#top"),
        ("EXPORTER_MAX_ANSWER_BYTES", "1000"),
        ("EXPORTER_ALLOW_INSECURE_HTTP", "perhaps"),
        ("EXPORTER_REFRESH_TOKEN", ""),
    ],
)
def test_a_bad_value_names_the_variable_and_the_value(variable: str, bad: str) -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env({variable: bad})
    assert f"{variable}={bad!r}" in str(error.value)


def test_the_same_repository_in_another_case_is_refused_as_listed_twice() -> None:
    with pytest.raises(SettingsError, match=re.escape("'O/R' is listed twice (as 'o/r'; GitHub names ignore case)")):
        Settings.from_env({"EXPORTER_REPOS": "o/r,O/R"})


def test_repositories_are_checked_with_githubs_rules_for_names() -> None:
    allowed = ("a/b", "my-org/my.repo_name-2", "x1-y2-z3/.github", "o" * 39 + "/" + "r" * 100)
    assert Settings.from_env({"EXPORTER_REPOS": ",".join(allowed)}).repos == allowed
    for refused in ("o/..", "o/.", "o/r.git", "o/R.GIT", "o--o/r", "o-/r", "-o/r", "o/r r", "o" * 40 + "/r"):
        with pytest.raises(SettingsError, match="as GitHub allows them"):
            Settings.from_env({"EXPORTER_REPOS": refused})


def test_plain_http_is_accepted_to_loopback_only_and_refused_elsewhere_saying_why() -> None:
    for url in ("http://127.0.0.1:8080", "http://127.9.9.9", "http://[::1]:8080/api/v3", "http://localhost:1"):
        assert Settings.from_env({"EXPORTER_GITHUB_API_URL": url}).github_api_url == url
    for url in ("http://github.example.com/api/v3", "http://10.0.0.7:8080", "http://127.0.0.1.example.com"):
        with pytest.raises(SettingsError) as error:
            Settings.from_env({"EXPORTER_GITHUB_API_URL": url})
        assert f"EXPORTER_GITHUB_API_URL={url!r}" in str(error.value)
        assert "clear text" in str(error.value) and "EXPORTER_ALLOW_INSECURE_HTTP=true" in str(error.value)


def test_plain_http_to_another_host_is_accepted_only_when_explicitly_allowed() -> None:
    env = {"EXPORTER_GITHUB_API_URL": "http://ghe.corp/api/v3/", "EXPORTER_ALLOW_INSECURE_HTTP": "true"}
    assert Settings.from_env(env).github_api_url == "http://ghe.corp/api/v3"


def test_credentials_in_the_api_url_are_refused_and_never_shown() -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env({"EXPORTER_GITHUB_API_URL": "https://bot:hunter2@ghe.example.com/api/v3"})
    assert "hunter2" not in str(error.value) and "bot" not in str(error.value)
    assert "EXPORTER_GITHUB_API_URL='https://<hidden>@ghe.example.com/api/v3'" in str(error.value)


def test_a_refresh_token_that_is_set_but_blank_stops_the_start() -> None:
    for blank in ("", "  ", "\n"):
        with pytest.raises(SettingsError, match=r"EXPORTER_REFRESH_TOKEN=.*set but empty"):
            Settings.from_env({"EXPORTER_REFRESH_TOKEN": blank})
    assert Settings.from_env({}).refresh_token is None


def test_a_refresh_token_loses_the_newline_a_secret_file_ends_with() -> None:
    token = Settings.from_env({"EXPORTER_REFRESH_TOKEN": "s3cret\n"}).refresh_token
    assert token is not None and token.get_secret_value() == "s3cret"


def test_a_webhook_secret_that_is_set_but_blank_stops_the_start_without_showing_it() -> None:
    for blank in ("", "  ", "\n"):
        with pytest.raises(SettingsError, match=r"EXPORTER_WEBHOOK_SECRET=.*set but empty"):
            Settings.from_env({"EXPORTER_WEBHOOK_SECRET": blank})
    settings = Settings.from_env({"EXPORTER_WEBHOOK_SECRET": "hush\n"})
    assert settings.webhook_secret is not None and settings.webhook_secret.get_secret_value() == "hush"
    assert "hush" not in repr(settings)
    assert Settings.from_env({}).webhook_secret is None


def test_webhook_bodies_are_capped_at_1_mib_unless_told_otherwise() -> None:
    assert Settings.from_env({}).webhook_max_bytes == 1024 * 1024
    with pytest.raises(SettingsError, match=re.escape("EXPORTER_WEBHOOK_MAX_BYTES='99999999999'")):
        Settings.from_env({"EXPORTER_WEBHOOK_MAX_BYTES": "99999999999"})


def test_answers_are_capped_at_16_mib_unless_told_otherwise() -> None:
    assert Settings.from_env({}).max_answer_bytes == 16 * 1024 * 1024
    assert Settings.from_env({"EXPORTER_MAX_ANSWER_BYTES": "1048576"}).max_answer_bytes == 1048576


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


APP = {"EXPORTER_GITHUB_APP_ID": "12", "EXPORTER_GITHUB_APP_INSTALLATION_ID": "34"}
PEM = "-----BEGIN PRIVATE KEY-----\nsecret-key-material\n-----END PRIVATE KEY-----\n"


def test_a_github_app_is_an_id_one_key_and_one_installation() -> None:
    settings = Settings.from_env({**APP, "EXPORTER_GITHUB_APP_PRIVATE_KEY_FILE": "/keys/app.pem"})
    assert settings.uses_github_app and settings.github_app_installation_id == 34
    assert not Settings.from_env({}).uses_github_app


@pytest.mark.parametrize(
    ("env", "named"),
    [
        (
            {"EXPORTER_GITHUB_APP_ID": "12", "EXPORTER_GITHUB_APP_INSTALLATION_ID": "34"},
            "EXPORTER_GITHUB_APP_PRIVATE_KEY",
        ),
        ({**APP, "EXPORTER_GITHUB_APP_PRIVATE_KEY": PEM, "EXPORTER_GITHUB_APP_PRIVATE_KEY_FILE": "/k"}, "_FILE"),
        (
            {"EXPORTER_GITHUB_APP_ID": "12", "EXPORTER_GITHUB_APP_PRIVATE_KEY": PEM},
            "EXPORTER_GITHUB_APP_INSTALLATION_ORG",
        ),
        ({**APP, "EXPORTER_GITHUB_APP_PRIVATE_KEY": PEM, "EXPORTER_GITHUB_APP_INSTALLATION_ORG": "x"}, "_ORG"),
        ({"EXPORTER_GITHUB_APP_INSTALLATION_ID": "34", "EXPORTER_GITHUB_APP_PRIVATE_KEY": PEM}, "without"),
        ({**APP, "EXPORTER_GITHUB_APP_PRIVATE_KEY": PEM, "GITHUB_TOKEN": "ghp_x"}, "GITHUB_TOKEN"),
        ({**APP, "EXPORTER_GITHUB_APP_PRIVATE_KEY": PEM, "EXPORTER_GITHUB_APP_ID": "0"}, "EXPORTER_GITHUB_APP_ID='0'"),
    ],
)
def test_a_github_app_configured_halfway_or_twice_stops_the_start_naming_the_variables(
    env: dict[str, str], named: str
) -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env(env)
    assert named in str(error.value)
    assert "secret-key-material" not in str(error.value) and "ghp_x" not in str(error.value)


def test_exporter_repos_names_organisations_and_users_beside_repositories() -> None:
    settings = Settings.from_env({"EXPORTER_REPOS": "org:Metta-AI, acme/tools, USER:octocat"})
    assert settings.repos == ("acme/tools",)
    assert [str(owner) for owner in settings.discovery_owners] == ["org:Metta-AI", "user:octocat"]


def test_discovery_defaults_skip_archived_forks_and_empty_repositories_hourly_up_to_a_thousand() -> None:
    settings = Settings.from_env({})
    assert settings.discovery_owners == ()
    flags = (settings.discovery_include_archived, settings.discovery_include_forks, settings.discovery_include_empty)
    assert flags == (False, False, False)
    assert (settings.discovery_interval_seconds, settings.max_repos) == (3600.0, 1000)


@pytest.mark.parametrize(
    "env,message",
    [
        ({"EXPORTER_REPOS": "org:-bad"}, "EXPORTER_REPOS='org:-bad': 'org:-bad' names an account that is not"),
        ({"EXPORTER_REPOS": "team:octo"}, "EXPORTER_REPOS='team:octo': 'team:octo' is not owner/name, org:NAME"),
        ({"EXPORTER_REPOS": "org:Octo,user:octo"}, "'user:octo' is listed twice (as 'org:Octo'"),
        ({"EXPORTER_REPOS": " , "}, "EXPORTER_REPOS=' , ': expected at least one owner/name, org:NAME or user:NAME"),
        ({"EXPORTER_DISCOVERY_INCLUDE": "api service"}, "EXPORTER_DISCOVERY_INCLUDE='api service': "),
        ({"EXPORTER_DISCOVERY_EXCLUDE": "a/b/c"}, "EXPORTER_DISCOVERY_EXCLUDE='a/b/c': "),
        ({"EXPORTER_DISCOVERY_TOPICS": "ok,not_a_topic"}, "EXPORTER_DISCOVERY_TOPICS='ok,not_a_topic': "),
        ({"EXPORTER_MAX_REPOS": "0"}, "EXPORTER_MAX_REPOS='0': "),
        ({"EXPORTER_DISCOVERY_INTERVAL_SECONDS": "10"}, "EXPORTER_DISCOVERY_INTERVAL_SECONDS='10': "),
        (
            {"EXPORTER_REPOS": "a/b,c/d", "EXPORTER_MAX_REPOS": "1"},
            "names 2 repositories, more than EXPORTER_MAX_REPOS=1",
        ),
    ],
)
def test_a_bad_discovery_setting_stops_the_start_naming_the_variable_and_value(
    env: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env(env)
    assert message in str(error.value)


def test_a_repository_of_a_discovered_organisation_may_have_its_own_deploy_source() -> None:
    env = {"EXPORTER_REPOS": "org:octo", "EXPORTER_DEPLOY_SOURCES": "Octo/api=releases"}
    assert Settings.from_env(env).deploy_source_for("octo/API").kind == "releases"
    with pytest.raises(SettingsError, match="'acme/api' is not one of EXPORTER_REPOS"):
        Settings.from_env(env | {"EXPORTER_DEPLOY_SOURCES": "acme/api=releases"})


def test_every_setting_is_documented_in_the_readme_by_its_variable_name() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    undocumented = [
        field.alias for field in Settings.model_fields.values() if field.alias and field.alias not in readme
    ]
    assert undocumented == [], f"add these to README.md's configuration table: {undocumented}"


@pytest.mark.parametrize(
    "env,message",
    [
        ({"EXPORTER_GITHUB_POINTS_PER_MINUTE": "901"}, "EXPORTER_GITHUB_POINTS_PER_MINUTE='901': "),
        ({"EXPORTER_GITHUB_POINTS_PER_MINUTE": "0"}, "EXPORTER_GITHUB_POINTS_PER_MINUTE='0': "),
        ({"EXPORTER_GITHUB_MAX_IN_FLIGHT": "101"}, "EXPORTER_GITHUB_MAX_IN_FLIGHT='101': "),
        ({"EXPORTER_GITHUB_MAX_IN_FLIGHT": "0"}, "EXPORTER_GITHUB_MAX_IN_FLIGHT='0': "),
    ],
)
def test_pacing_past_github_s_secondary_limits_stops_the_start_naming_the_variable(
    env: dict[str, str], message: str
) -> None:
    assert (Settings.from_env({}).github_points_per_minute, Settings.from_env({}).github_max_in_flight) == (720, 50)
    with pytest.raises(SettingsError) as error:
        Settings.from_env(env)
    assert message in str(error.value)
