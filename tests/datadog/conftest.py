"""Fixtures of the Datadog tests: the fake Datadog API on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.datadog.fake_datadog import FakeDatadog


@pytest.fixture
def datadog() -> Iterator[FakeDatadog]:
    """A fake Datadog API with no assets, stopped after the test."""
    fake = FakeDatadog()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's Secrets Manager on loopback, reached through AWS_ENDPOINT_URL; yields its URL."""
    import httpx
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        httpx.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()  # moto keeps state per process
        for key, value in {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }.items():
            monkeypatch.setenv(key, value)
        yield endpoint
    finally:
        server.stop()


def put_secret(secret_id: str, value: str) -> None:
    """Create or overwrite a secret on the moto server the environment points at."""
    import boto3

    client = boto3.client("secretsmanager")
    try:
        client.create_secret(Name=secret_id, SecretString=value)
    except client.exceptions.ResourceExistsException:
        client.put_secret_value(SecretId=secret_id, SecretString=value)
