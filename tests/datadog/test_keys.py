"""The Datadog keys: from DD_API_KEY and DD_APP_KEY, else from Secrets Manager (moto on loopback)."""

from __future__ import annotations

import pytest

from exporter.datadog.keys import KeysError, SecretReader, datadog_keys
from exporter.settings import Settings
from tests.datadog.conftest import put_secret


def test_keys_set_in_the_environment_are_used_without_reading_any_secret() -> None:
    def no_reader() -> SecretReader:
        raise AssertionError("no secret should be read")

    keys = datadog_keys(Settings.from_env({"DD_API_KEY": "a" * 32, "DD_APP_KEY": "b" * 40}), reader=no_reader)
    assert keys.values() == ("a" * 32, "b" * 40)
    assert "a" * 32 not in repr(keys)


def test_unset_keys_are_read_from_the_old_jobs_secrets_bare_or_as_json(secrets: str) -> None:
    put_secret("datadog/api-key", "api-from-secret\n")
    put_secret("datadog/app-key", '{"app_key": "app-from-secret"}')
    assert datadog_keys(Settings.from_env({})).values() == ("api-from-secret", "app-from-secret")


def test_the_secret_ids_can_be_changed(secrets: str) -> None:
    put_secret("ops/dd-api", "api-2")
    put_secret("ops/dd-app", "app-2")
    env = {"EXPORTER_DD_API_KEY_SECRET_ID": "ops/dd-api", "EXPORTER_DD_APP_KEY_SECRET_ID": "ops/dd-app"}
    assert datadog_keys(Settings.from_env(env)).values() == ("api-2", "app-2")


def test_a_missing_secret_names_the_variable_the_secret_and_the_reason_but_no_key(secrets: str) -> None:
    put_secret("datadog/api-key", "the-api-key-value")
    with pytest.raises(KeysError) as raised:
        datadog_keys(Settings.from_env({}))
    message = str(raised.value)
    assert "DD_APP_KEY is unset" in message and "'datadog/app-key'" in message
    assert "ResourceNotFoundException" in message
    assert "the-api-key-value" not in message


def test_an_empty_secret_is_refused_with_a_reason(secrets: str) -> None:
    put_secret("datadog/api-key", "   ")
    with pytest.raises(KeysError, match=r"DD_API_KEY is unset .* the secret is empty"):
        datadog_keys(Settings.from_env({"DD_APP_KEY": "app"}))
