"""The GitHub token from GITHUB_TOKEN or AWS Secrets Manager (moto's server on loopback)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import boto3
import pytest

from exporter.cli import Exporter, build
from exporter.demo import FakeGitHub
from exporter.errors import SourceError
from exporter.github.credentials import SecretFetcher, TokenProvider
from exporter.github.source import GitHubSource
from exporter.metrics.registry import default_registry
from exporter.refresh import Refresher, RefreshResult
from exporter.settings import Settings
from tests.clocked import Clock, SimulatedTime
from tests.conftest import NOW, Wiring, repo, run, settings_for
from tests.helpers import series, value

SECRET_ID = "github/dashboard-token"
FORTY = [f"octo/r{n:02d}" for n in range(40)]
# Forty repositories, four at a time, from the secret: the figures of issue 9 §2.
FORTY_FROM_THE_SECRET = {"EXPORTER_REPOS": ",".join(FORTY), "EXPORTER_GITHUB_CONCURRENCY": "4", "GITHUB_TOKEN": ""}


def put_secret(value: str) -> None:
    client = boto3.client("secretsmanager")
    try:
        client.create_secret(Name=SECRET_ID, SecretString=value)
    except client.exceptions.ResourceExistsException:
        client.put_secret_value(SecretId=SECRET_ID, SecretString=value)


@pytest.fixture
def forty(fake: FakeGitHub) -> Iterator[list[Exporter]]:
    """Forty repositories on the fake GitHub; the exporters a test builds are closed after it."""
    for name in FORTY:
        fake.add_repo(repo(name, runs=[run(1)]))
    built: list[Exporter] = []
    try:
        yield built
    finally:
        for exporter in built:
            exporter.collector.close(wait_seconds=30)


def exporter_for(fake: FakeGitHub, built: list[Exporter], tokens: TokenProvider | None = None, **env: str) -> Exporter:
    settings = settings_for(fake, **env)
    paced = SimulatedTime()  # 40 repositories' requests: the pacer's waits on simulated time
    exporter = build(
        settings, tokens or TokenProvider(settings), clock=lambda: NOW, pacing_clock=paced, pacing_sleep=paced.sleep
    )
    built.append(exporter)
    return exporter


def failed_with(result: RefreshResult) -> set[str]:
    """The reasons of every series of a refresh (every one failed, or the set holds "ok")."""
    return {series.reason or "ok" for series in result.series}


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


def test_a_revoked_token_in_the_secret_is_answered_401_once_not_once_per_repository(
    secrets: str, fake: FakeGitHub, forty: list[Exporter]
) -> None:
    put_secret("revoked-token")
    fake.valid_tokens = {"good-token"}
    tokens = TokenProvider(settings_for(fake, **FORTY_FROM_THE_SECRET))
    exporter = exporter_for(fake, forty, tokens, **FORTY_FROM_THE_SECRET)
    first = exporter.refresher()
    assert (fake.count(status=401), len(fake.requests), tokens.fetches) == (1, 1, 1)
    assert failed_with(first) == {"unauthorized"}
    fake.clear_requests()
    second = exporter.refresher()  # the secret is read once more, holds the same token: nothing is sent
    assert (len(fake.requests), tokens.fetches) == (0, 2)
    assert failed_with(second) == {"unauthorized"}
    assert "read again next refresh" in str(series(second, "ci.tests_passing_on_main", FORTY[0]).error)
    put_secret("good-token")
    third = exporter.refresher()
    assert (fake.count(status=401), tokens.fetches) == (0, 3)
    assert failed_with(third) == {"ok"}


def test_a_token_revoked_between_refreshes_is_answered_401_once_though_four_repositories_start_at_once(
    fake: FakeGitHub, forty: list[Exporter], caplog: pytest.LogCaptureFixture
) -> None:
    exporter = exporter_for(fake, forty, **{**FORTY_FROM_THE_SECRET, "GITHUB_TOKEN": "test-token"})
    assert failed_with(exporter.refresher()) == {"ok"}
    fake.valid_tokens = {"another-token"}
    fake.clear_requests()
    assert failed_with(exporter.refresher()) == {"unauthorized"}
    assert (fake.count(status=401), len(fake.requests)) == (1, 1)
    fake.clear_requests()
    assert failed_with(exporter.refresher()) == {"unauthorized"}
    assert fake.requests == []  # GITHUB_TOKEN: never sent again before a restart
    assert "restart" in caplog.text and "test-token" not in caplog.text


def test_with_secrets_manager_failing_reads_back_off_to_four_an_hour(secrets: str, fake: FakeGitHub) -> None:
    clock = Clock()
    settings = settings_for(fake, **FORTY_FROM_THE_SECRET)  # no secret in moto: every read fails
    tokens = TokenProvider(settings, monotonic=clock)
    source = GitHubSource(settings, tokens, monotonic=clock, wall=clock)
    refresher = Refresher(
        settings, default_registry().configured(settings), source, clock=clock.datetime, monotonic=clock
    )
    read_at: list[float] = []
    start = clock()
    while clock() - start < 3600:  # a refresh a minute for an hour
        before = tokens.fetches
        result = refresher()
        read_at += [clock() - start] * (tokens.fetches - before)
        assert failed_with(result) == {"no_token"}
        assert "next read of the secret in" in str(series(result, "ci.tests_passing_on_main", FORTY[-1]).error)
        clock.advance(60)
    # 30 s doubling to 15 minutes, each wait rounded up to the next refresh: 8 reads in the first hour, then 4.
    assert read_at == [0, 60, 120, 240, 480, 960, 1860, 2760]
    assert result.secret_read_errors["not_found"] == len(read_at)
    assert fake.requests == []


@pytest.mark.parametrize(("stored", "reason"), [(None, "not_found"), ('{"user": "octo"}', "invalid_secret")])
def test_a_failed_secret_read_is_counted_by_reason_on_metrics(
    secrets: str, wire: Wiring, stored: str | None, reason: str
) -> None:
    if stored is not None:
        put_secret(stored)
    exporter = wire(GITHUB_TOKEN="")
    exporter.collector.refresh().result(timeout=60)
    name = "system_health_exporter_secret_read_errors_total"
    assert exporter.registry.get_sample_value(name, {"reason": reason}) == 1.0
    assert exporter.registry.get_sample_value(name, {"reason": "throttled"}) == 0.0
    with_env_token = wire()
    with_env_token.collector.refresh().result(timeout=60)
    assert with_env_token.registry.get_sample_value(name, {"reason": reason}) is None


def test_past_the_refresh_deadline_the_secret_is_not_read(secrets: str) -> None:
    clock = Clock()
    put_secret("ghp_plain")
    provider = TokenProvider(Settings.from_env({}), monotonic=clock)
    with pytest.raises(SourceError) as error:
        provider.get(deadline=clock() - 1)
    assert (error.value.reason, provider.fetches) == ("timeout", 0)


def test_a_read_near_the_deadline_makes_one_short_attempt_not_three(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    silent = Silent()  # accepts connections and never answers
    for key, val in {
        "AWS_ENDPOINT_URL": silent.url,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(key, val)
    provider = TokenProvider(Settings.from_env({}), monotonic=clock)
    try:
        with pytest.raises(SourceError) as error:
            provider.get(deadline=clock() + 2)  # two seconds left of the refresh
    finally:
        silent.stop()
    assert error.value.reason == "no_token" and "ReadTimeoutError" in str(error.value)
    assert (silent.connections, provider.read_errors()["timeout"]) == (1, 1)


class Silent:
    """A loopback server that accepts connections and never answers (a Secrets Manager that hangs)."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self.connections = 0
        self._held: list[socket.socket] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, _ = self._server.accept()
            except TimeoutError:
                continue
            self.connections += 1
            self._held.append(connection)

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        for connection in self._held:
            connection.close()
        self._server.close()
