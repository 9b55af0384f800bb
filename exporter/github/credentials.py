"""The GitHub token: from GITHUB_TOKEN or AWS Secrets Manager, fetched once and again after a 401."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable

from pydantic import SecretStr

from exporter import tracing
from exporter.errors import SourceError
from exporter.settings import Settings

logger = logging.getLogger(__name__)

SecretFetcher = Callable[[str], str]


def secrets_manager_fetcher() -> SecretFetcher:
    """Read a secret string with boto3, honouring the standard AWS_* region and endpoint variables."""
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "secretsmanager",
        config=Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 3, "mode": "standard"}),
    )

    def fetch(secret_id: str) -> str:
        answer = client.get_secret_value(SecretId=secret_id)
        return str(answer["SecretString"])

    return fetch


def _token_from_secret(secret: str) -> str:
    """A secret holds the bare token, or JSON with a `token` or `GITHUB_TOKEN` key."""
    text = secret.strip()
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except ValueError:
            raise SourceError("no_token", "the secret is neither a bare token nor JSON") from None
        for key in ("token", "GITHUB_TOKEN", "github_token"):
            if isinstance(document, dict) and isinstance(document.get(key), str):
                return str(document[key])
        raise SourceError("no_token", "the secret's JSON has no 'token' key")
    return text


class TokenProvider:
    """Hands out the current token; `invalidate()` after a 401 makes the next call fetch it again."""

    def __init__(self, settings: Settings, fetcher: Callable[[], SecretFetcher] = secrets_manager_fetcher) -> None:
        self._settings = settings
        self._make_fetcher = fetcher
        self._fetcher: SecretFetcher | None = None
        self._token: SecretStr | None = settings.github_token
        self._lock = threading.Lock()
        self.fetches = 0

    @property
    def uses_secrets_manager(self) -> bool:
        """True when the token comes from Secrets Manager rather than GITHUB_TOKEN."""
        return self._settings.github_token is None

    def get(self) -> SecretStr | None:
        """The token, or None for anonymous access (only when allowed). Raises SourceError('no_token')."""
        with self._lock:
            if self._token is not None:
                return self._token
            if not self.uses_secrets_manager:
                return self._settings.github_token
            try:
                self._token = SecretStr(self._fetch())
            except SourceError:
                if self._settings.allow_anonymous:
                    return None
                raise
            return self._token

    def invalidate(self) -> None:
        """Forget a token GitHub refused, so the next `get()` reads the secret again."""
        with self._lock:
            if self.uses_secrets_manager:
                self._token = None

    def _fetch(self) -> str:
        secret_id = self._settings.github_token_secret_id
        self.fetches += 1
        try:
            with tracing.span("secretsmanager.get_secret_value", resource=secret_id, tags={"secret_id": secret_id}):
                if self._fetcher is None:
                    self._fetcher = self._make_fetcher()
                secret = self._fetcher(secret_id)
        except SourceError:
            raise
        except Exception as exc:  # botocore raises many types; the name and class say enough
            raise SourceError(
                "no_token",
                f"GITHUB_TOKEN is not set and secret {secret_id!r} could not be read from AWS Secrets Manager "
                f"({type(exc).__name__}); set GITHUB_TOKEN, grant access to the secret, "
                "or set EXPORTER_ALLOW_ANONYMOUS=true",
            ) from None
        token = _token_from_secret(secret)
        if not token:
            raise SourceError("no_token", f"secret {secret_id!r} is empty")
        logger.info("read the GitHub token from AWS Secrets Manager secret %s", secret_id)
        return token
