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


def put_secret(secret_id: str, value: str) -> None:
    """Create or overwrite a secret on the moto server the environment points at."""
    import boto3

    client = boto3.client("secretsmanager")
    try:
        client.create_secret(Name=secret_id, SecretString=value)
    except client.exceptions.ResourceExistsException:
        client.put_secret_value(SecretId=secret_id, SecretString=value)
