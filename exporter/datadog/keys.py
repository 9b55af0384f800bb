"""Datadog's API and application keys: DD_API_KEY and DD_APP_KEY, else AWS Secrets Manager, as the old job did.

Each key is read once per push. A secret holds the bare key, or JSON with an `api_key`/`app_key`
(or `key`) field. An error names the variable and the secret id and why it could not be used,
never a key or a secret's text.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import SecretStr

from exporter.settings import Settings

SecretReader = Callable[[str], str]  # secret id -> the secret's string
# botocore's bounds for one read: connect 5 s, read 10 s, 3 attempts (a push is run by hand or by CI).
_CONNECT_SECONDS, _READ_SECONDS, _ATTEMPTS = 5, 10, 3


class KeysError(RuntimeError):
    """A key is neither set nor readable from its secret; the message says which and why."""


@dataclass(frozen=True)
class DatadogKeys:
    """The two keys the API needs; `repr` shows neither."""

    api: SecretStr
    app: SecretStr

    def values(self) -> tuple[str, str]:
        """Both keys in clear, for the client's headers and for scrubbing messages."""
        return self.api.get_secret_value(), self.app.get_secret_value()


def secrets_manager_reader() -> SecretReader:
    """Read a secret string with boto3, honouring the standard AWS_* region, endpoint and credentials."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=_CONNECT_SECONDS,
        read_timeout=_READ_SECONDS,
        retries={"total_max_attempts": _ATTEMPTS, "mode": "standard"},
    )
    client = boto3.client("secretsmanager", config=config)

    def read(secret_id: str) -> str:
        answer = client.get_secret_value(SecretId=secret_id)
        if "SecretString" not in answer:
            raise ValueError("the secret has no SecretString (a binary secret)")
        return str(answer["SecretString"])

    return read


def _key_from_secret(text: str, field: str) -> str:
    """The bare key, or the `field` (else `key`) of a JSON object."""
    text = text.strip()
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except ValueError:
            raise ValueError("the secret is neither a bare key nor JSON") from None
        for name in (field, "key"):
            if isinstance(document, dict) and isinstance(document.get(name), str) and document[name].strip():
                return str(document[name]).strip()
        raise ValueError(f"the secret's JSON has no {field!r} or 'key' field")
    if not text:
        raise ValueError("the secret is empty")
    return text


def _why(exc: BaseException) -> str:
    """Why a read failed, without the secret: botocore's error code, or the exception's type and text."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and response.get("Error", {}).get("Code"):
        return str(response["Error"]["Code"])
    if isinstance(exc, ValueError):
        return str(exc)
    return type(exc).__name__


def datadog_keys(settings: Settings, reader: Callable[[], SecretReader] = secrets_manager_reader) -> DatadogKeys:
    """The keys from DD_API_KEY and DD_APP_KEY, each read from its secret when unset."""
    read: SecretReader | None = None
    found: dict[str, SecretStr] = {}
    for variable, setting, secret_id, field in (
        ("DD_API_KEY", settings.dd_api_key, settings.dd_api_key_secret_id, "api_key"),
        ("DD_APP_KEY", settings.dd_app_key, settings.dd_app_key_secret_id, "app_key"),
    ):
        if setting is not None:
            found[variable] = setting
            continue
        try:
            read = read or reader()
            found[variable] = SecretStr(_key_from_secret(read(secret_id), field))
        except Exception as exc:  # boto3 raises many types; each is told by its code, never its secret
            id_variable = f"EXPORTER_{variable}_SECRET_ID"
            raise KeysError(
                f"{variable} is unset and its secret {secret_id!r} ({id_variable}) could not be used: {_why(exc)}"
            ) from None
    return DatadogKeys(found["DD_API_KEY"], found["DD_APP_KEY"])
