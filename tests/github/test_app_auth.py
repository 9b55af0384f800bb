"""GitHub App authentication against the fake GitHub's App endpoints, which check the JWT with the
App's public key (a key pair made here) and issue tokens that expire on the test's clock."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from exporter.demo import FakeApp, FakeGitHub, FakeInstallation
from exporter.errors import SourceError
from exporter.github.app_auth import AppTokenProvider, load_private_key
from exporter.refresh import RefreshResult
from exporter.settings import Settings, SettingsError
from tests.clocked import Clock, ClockedExporter
from tests.conftest import repo, run, settings_for
from tests.processes import exporter_env, run_measured

APP_ID = 4242
INSTALLATION = 77
ORG = "octo"
REPOS = ("octo/app", "octo/lib", "octo/web")
MINUTE = 60.0


@dataclass(frozen=True)
class KeyPair:
    private_pem: str
    public_pem: bytes


def key_pair() -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return KeyPair(private.decode(), public)


@pytest.fixture(scope="module")
def keys() -> KeyPair:
    """The App's key pair: the exporter signs with the private half, the fake checks with the public one."""
    return key_pair()


@pytest.fixture
def app(fake: FakeGitHub, keys: KeyPair) -> FakeApp:
    """The App on the fake, installed on the organisation that owns REPOS, each with a passing run."""
    fake.app = FakeApp(APP_ID, keys.public_pem, [FakeInstallation(INSTALLATION, ORG)])
    for name in REPOS:
        fake.add_repo(repo(name, runs=[run(1)]))
    return fake.app


def app_env(keys: KeyPair, **env: str) -> dict[str, str]:
    """The App's settings (no GITHUB_TOKEN), the key in EXPORTER_GITHUB_APP_PRIVATE_KEY unless `env` says otherwise."""
    values = {
        "GITHUB_TOKEN": "",
        "EXPORTER_REPOS": ",".join(REPOS),
        "EXPORTER_GITHUB_APP_ID": str(APP_ID),
        "EXPORTER_GITHUB_APP_PRIVATE_KEY": keys.private_pem,
        "EXPORTER_GITHUB_APP_INSTALLATION_ID": str(INSTALLATION),
    }
    values.update(env)
    return values


@pytest.fixture
def exporters(fake: FakeGitHub) -> Iterator[Callable[..., tuple[ClockedExporter, AppTokenProvider]]]:
    """Makes exporters on one clock with the fake (the provider's own clock `skew` seconds off); closes them."""
    built: list[ClockedExporter] = []
    clock = Clock()

    def make(env: dict[str, str], skew: float = 0.0) -> tuple[ClockedExporter, AppTokenProvider]:
        provider = AppTokenProvider.from_settings(settings_for(fake, **env), clock=lambda: clock() + skew)
        exporter = ClockedExporter(fake, clock, tokens=provider, **env)
        built.append(exporter)
        return exporter, provider

    try:
        yield make
    finally:
        for exporter in built:
            exporter.close()


def reasons(result: RefreshResult) -> set[str]:
    """The reason of every series ("ok" for a value)."""
    return {series.reason or "ok" for series in result.series}


def errors(result: RefreshResult) -> list[str]:
    return [series.error for series in result.series if series.error]


def mints(fake: FakeGitHub) -> int:
    return fake.count("/access_tokens")


def refused(fake: FakeGitHub) -> int:
    """REST requests GitHub answered 401 (not the App's own endpoints)."""
    return fake.count("/repos/", status=401)


def test_a_refresh_as_an_app_reads_every_repository_with_one_installation_token(
    app: FakeApp, keys: KeyPair, exporters: Callable[..., tuple[ClockedExporter, AppTokenProvider]]
) -> None:
    exporter, _ = exporters(app_env(keys))
    result = exporter.refresher()
    assert reasons(result) == {"ok"}
    assert mints(exporter.fake) == 1
    (token,) = app.tokens
    sent = {r.headers.get("authorization") for r in exporter.fake.requests if r.path.startswith("/repos/")}
    assert sent == {f"token {token}"}


def test_the_private_key_can_come_from_a_file(
    app: FakeApp, keys: KeyPair, tmp_path: Path, exporters: Callable[..., tuple[ClockedExporter, AppTokenProvider]]
) -> None:
    key_file = tmp_path / "app.pem"
    key_file.write_text(keys.private_pem)
    env = app_env(keys, EXPORTER_GITHUB_APP_PRIVATE_KEY="", EXPORTER_GITHUB_APP_PRIVATE_KEY_FILE=str(key_file))
    exporter, _ = exporters(env)
    assert reasons(exporter.refresher()) == {"ok"}


def test_the_private_key_can_come_from_secrets_manager(
    app: FakeApp,
    keys: KeyPair,
    secrets: str,
    exporters: Callable[..., tuple[ClockedExporter, AppTokenProvider]],
) -> None:
    boto3.client("secretsmanager").create_secret(Name="github/app-key", SecretString=keys.private_pem)
    env = app_env(keys, EXPORTER_GITHUB_APP_PRIVATE_KEY="", EXPORTER_GITHUB_APP_PRIVATE_KEY_SECRET_ID="github/app-key")
    exporter, _ = exporters(env)
    assert reasons(exporter.refresher()) == {"ok"}


def test_a_missing_key_secret_stops_the_start_naming_the_secret(secrets: str, keys: KeyPair) -> None:
    settings = Settings.from_env(
        app_env(keys, EXPORTER_GITHUB_APP_PRIVATE_KEY="", EXPORTER_GITHUB_APP_PRIVATE_KEY_SECRET_ID="nope")
    )
    with pytest.raises(SourceError) as error:
        load_private_key(settings)
    assert "'nope'" in str(error.value) and "EXPORTER_GITHUB_APP_PRIVATE_KEY_SECRET_ID" in str(error.value)


def test_the_installation_is_looked_up_once_from_the_organisation(
    app: FakeApp, keys: KeyPair, exporters: Callable[..., tuple[ClockedExporter, AppTokenProvider]]
) -> None:
    env = app_env(keys, EXPORTER_GITHUB_APP_INSTALLATION_ID="", EXPORTER_GITHUB_APP_INSTALLATION_ORG=ORG)
    exporter, _ = exporters(env)
    assert reasons(exporter.refresher()) == {"ok"}
    exporter.clock.advance(58 * MINUTE)
    assert reasons(exporter.refresher()) == {"ok"}
    assert mints(exporter.fake) == 2
    assert exporter.fake.count(f"/orgs/{ORG}/installation") == 1


def test_an_organisation_without_the_app_fails_unauthorized_naming_it(
    app: FakeApp, keys: KeyPair, exporters: Callable[..., tuple[ClockedExporter, AppTokenProvider]]
) -> None:
    env = app_env(keys, EXPORTER_GITHUB_APP_INSTALLATION_ID="", EXPORTER_GITHUB_APP_INSTALLATION_ORG="elsewhere")
    exporter, _ = exporters(env)
    result = exporter.refresher()
    assert reasons(result) == {"unauthorized"}
    assert all("not installed on organisation elsewhere" in error for error in errors(result))


def test_the_token_is_renewed_five_minutes_before_it_expires_and_never_refused(
    app: FakeApp, keys: KeyPair, exporters: Callable[..., tuple[ClockedExporter, AppTokenProvider]]
) -> None:
    exporter, _ = exporters(app_env(keys))
    assert reasons(exporter.refresher()) == {"ok"}
    exporter.clock.advance(30 * MINUTE)
    assert reasons(exporter.refresher()) == {"ok"}
    assert mints(exporter.fake) == 1  # one token for every repository and both refreshes
    exporter.clock.advance(26 * MINUTE)  # 56 minutes: 4 left on the token, inside the 5-minute margin
    assert reasons(exporter.refresher()) == {"ok"}
    assert mints(exporter.fake) == 2
    exporter.clock.advance(5 * MINUTE)  # 61 minutes: the first token has expired, the second has not
    assert reasons(exporter.refresher()) == {"ok"}
    assert mints(exporter.fake) == 2
    assert refused(exporter.fake) == 0


def test_a_token_github_refuses_is_replaced_by_one_new_token_for_all_repositories(
    app: FakeApp, keys: KeyPair, exporters: Callable[..., tuple[ClockedExporter, AppTokenProvider]]
) -> None:
    exporter, _ = exporters(app_env(keys, EXPORTER_GITHUB_CONCURRENCY="1"))
    assert reasons(exporter.refresher()) == {"ok"}
    app.tokens.clear()  # GitHub no longer knows the token (revoked through the API)
    second = exporter.refresher()
    assert {s.reason for s in second.series if s.repo == REPOS[0]} == {"unauthorized"}
    assert {s.reason or "ok" for s in second.series if s.repo != REPOS[0]} == {"ok"}
    assert mints(exporter.fake) == 2 and refused(exporter.fake) == 1
    assert reasons(exporter.refresher()) == {"ok"}
    assert mints(exporter.fake) == 2


def test_a_removed_installation_fails_unauthorized_and_mints_at_most_once_a_refresh(
    app: FakeApp, keys: KeyPair, exporters: Callable[..., tuple[ClockedExporter, AppTokenProvider]]
) -> None:
    exporter, _ = exporters(app_env(keys))
    assert reasons(exporter.refresher()) == {"ok"}
    app.remove_installation(INSTALLATION)
    before = mints(exporter.fake)
    assert reasons(exporter.refresher()) == {"unauthorized"}
    assert mints(exporter.fake) - before <= 1
    assert refused(exporter.fake) == 1  # the refresh's first request with the token went alone
    before = mints(exporter.fake)
    third = exporter.refresher()
    assert reasons(third) == {"unauthorized"}
    assert mints(exporter.fake) - before == 1
    assert any(f"installation {INSTALLATION}" in error and "404" in error for error in errors(third))


def test_a_key_that_is_not_the_apps_fails_unauthorized_saying_so_without_key_material(
    app: FakeApp, keys: KeyPair, exporters: Callable[..., tuple[ClockedExporter, AppTokenProvider]]
) -> None:
    app.public_key_pem = key_pair().public_pem  # GitHub holds another key for the App
    exporter, _ = exporters(app_env(keys))
    result = exporter.refresher()
    assert reasons(result) == {"unauthorized"}
    assert mints(exporter.fake) == 1
    jwts = [r.headers["authorization"].split()[1] for r in exporter.fake.requests if r.path.endswith("/access_tokens")]
    assert jwts
    for message in errors(result):
        assert "EXPORTER_GITHUB_APP_ID" in message and "private key" in message and "401" in message
        assert not any(secret in message for secret in [*jwts, *key_lines(keys)]) and "BEGIN" not in message


@pytest.mark.parametrize("skew_minutes", [2, -2])
def test_a_clock_two_minutes_off_githubs_still_mints_and_renews_in_time(
    app: FakeApp,
    keys: KeyPair,
    exporters: Callable[..., tuple[ClockedExporter, AppTokenProvider]],
    skew_minutes: int,
) -> None:
    exporter, _ = exporters(app_env(keys), skew=skew_minutes * MINUTE)
    assert reasons(exporter.refresher()) == {"ok"}
    exporter.clock.advance(58 * MINUTE)
    assert reasons(exporter.refresher()) == {"ok"}
    assert mints(exporter.fake) == 2 and refused(exporter.fake) == 0


def test_a_clock_ten_minutes_ahead_is_refused_with_a_message_about_the_clock(
    app: FakeApp, keys: KeyPair, exporters: Callable[..., tuple[ClockedExporter, AppTokenProvider]]
) -> None:
    exporter, _ = exporters(app_env(keys), skew=10 * MINUTE)
    result = exporter.refresher()
    assert reasons(result) == {"unauthorized"}
    assert all("'iat'" in error and "clock" in error for error in errors(result))


def key_lines(keys: KeyPair) -> list[str]:
    """The base64 lines of the private key (what would show if any of it leaked)."""
    return [line for line in keys.private_pem.splitlines() if line and not line.startswith("-----")]


def test_no_token_jwt_or_key_reaches_a_log_line_or_an_error_even_at_debug(
    app: FakeApp,
    keys: KeyPair,
    exporters: Callable[..., tuple[ClockedExporter, AppTokenProvider]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="github")  # PyGithub's own debug lines too (it sets INFO on import)
    exporter, _ = exporters(app_env(keys))
    results = [exporter.refresher()]
    exporter.clock.advance(58 * MINUTE)
    results.append(exporter.refresher())
    app.remove_installation(INSTALLATION)
    results += [exporter.refresher(), exporter.refresher()]
    jwts = [r.headers["authorization"].split()[1] for r in exporter.fake.requests if r.path.startswith("/app/")]
    secrets = [*app.tokens, *jwts, *key_lines(keys)]
    assert len(app.tokens) == 2 and jwts
    logged = [r.getMessage() for r in caplog.records if r.name == "github.Requester"]
    assert any("/access_tokens" in line for line in logged)  # PyGithub logged the exchange (its body redacted)
    shown = caplog.text + "\n".join(error for result in results for error in errors(result))
    assert [secret[:12] for secret in secrets if secret in shown] == []


def test_a_malformed_key_stops_the_start_naming_the_variable_but_not_the_key(keys: KeyPair) -> None:
    lines = keys.private_pem.splitlines()
    broken = "\n".join(lines[:3] + lines[4:])  # a line of the key lost in a copy
    settings = Settings.from_env(app_env(keys, EXPORTER_GITHUB_APP_PRIVATE_KEY=broken))
    with pytest.raises(SettingsError) as error:
        load_private_key(settings)
    assert "EXPORTER_GITHUB_APP_PRIVATE_KEY=<hidden>" in str(error.value)
    assert not any(line in str(error.value) for line in key_lines(keys))


def test_a_key_that_is_not_rsa_is_refused_at_start(tmp_path: Path, keys: KeyPair) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key_file = tmp_path / "ec.pem"
    key_file.write_bytes(ec_key)
    env = app_env(keys, EXPORTER_GITHUB_APP_PRIVATE_KEY="", EXPORTER_GITHUB_APP_PRIVATE_KEY_FILE=str(key_file))
    with pytest.raises(SettingsError, match="RSA"):
        load_private_key(Settings.from_env(env))


def test_a_token_and_an_app_together_stop_the_exporter_naming_both_variables(keys: KeyPair) -> None:
    env = exporter_env(**app_env(keys, GITHUB_TOKEN="ghp_personal"), EXPORTER_GITHUB_API_URL="http://127.0.0.1:9")
    finished = run_measured("exporter", ["report"], env, timeout=60)
    assert finished.returncode == 2
    assert "GITHUB_TOKEN" in finished.stderr and "EXPORTER_GITHUB_APP_ID" in finished.stderr
    assert "ghp_personal" not in finished.stderr
    assert not any(line in finished.stderr for line in key_lines(keys))


def test_a_malformed_key_stops_the_exporter_process_with_exit_2(keys: KeyPair) -> None:
    env = exporter_env(**app_env(keys, EXPORTER_GITHUB_APP_PRIVATE_KEY="-----BEGIN PRIVATE KEY-----\nnot a key\n"))
    finished = run_measured("exporter", ["report"], env | {"EXPORTER_GITHUB_API_URL": "http://127.0.0.1:9"}, timeout=60)
    assert finished.returncode == 2
    assert "EXPORTER_GITHUB_APP_PRIVATE_KEY=<hidden>" in finished.stderr and "not a key" not in finished.stderr
