"""The GitHub token from GITHUB_TOKEN or AWS Secrets Manager (moto's server on loopback)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from exporter.demo import FakeGitHub
from exporter.errors import SourceError
from exporter.github.credentials import SecretFetcher, TokenProvider
from exporter.settings import Settings
from tests.conftest import Wiring, repo, run
from tests.helpers import series, value

SECRET_ID = "github/dashboard-token"


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's Secrets Manager on loopback; yields its endpoint URL, reachable through AWS_ENDPOINT_URL."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        httpx.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()  # moto keeps state per process
        for key, val in {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }.items():
            monkeypatch.setenv(key, val)
        yield endpoint
    finally:
        server.stop()


def put_secret(value: str) -> None:
    client = boto3.client("secretsmanager")
    try:
        client.create_secret(Name=SECRET_ID, SecretString=value)
    except client.exceptions.ResourceExistsException:
        client.put_secret_value(SecretId=SECRET_ID, SecretString=value)


def test_the_environment_token_wins_and_secrets_manager_is_not_asked() -> None:
    def refuse() -> SecretFetcher:
        raise AssertionError("Secrets Manager must not be asked")

    provider = TokenProvider(Settings.from_env({"GITHUB_TOKEN": "from-env"}), fetcher=refuse)
    token = provider.get()
    assert token is not None and token.get_secret_value() == "from-env"


@pytest.mark.parametrize("stored", ["ghp_plain", '{"token": "ghp_plain"}', '{"GITHUB_TOKEN": "ghp_plain"}'])
def test_the_secret_is_read_once_as_a_bare_token_or_json(secrets: str, stored: str) -> None:
    put_secret(stored)
    provider = TokenProvider(Settings.from_env({}))
    first, second = provider.get(), provider.get()
    assert first is not None and second is not None
    assert first.get_secret_value() == second.get_secret_value() == "ghp_plain"
    assert provider.fetches == 1


def test_a_refused_token_is_read_again_on_the_next_refresh(secrets: str, fake: FakeGitHub, wire: Wiring) -> None:
    fake.add_repo(repo(runs=[run(1)]))
    fake.valid_tokens = {"new-token"}
    put_secret("old-token")
    exporter = wire(GITHUB_TOKEN="")
    assert series(exporter.refresher(), "ci.tests_passing_on_main").reason == "unauthorized"
    put_secret("new-token")
    assert value(exporter.refresher(), "ci.tests_passing_on_main") == 1.0


def test_a_missing_secret_is_a_clear_error_that_names_it(secrets: str) -> None:
    provider = TokenProvider(Settings.from_env({}))
    with pytest.raises(SourceError) as error:
        provider.get()
    assert error.value.reason == "no_token"
    assert SECRET_ID in str(error.value) and "ResourceNotFoundException" in str(error.value)


def test_anonymous_access_only_when_allowed(secrets: str) -> None:
    assert TokenProvider(Settings.from_env({"EXPORTER_ALLOW_ANONYMOUS": "true"})).get() is None
