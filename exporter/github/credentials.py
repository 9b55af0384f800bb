"""The GitHub token: from GITHUB_TOKEN or AWS Secrets Manager; a token GitHub refused is never sent again.

Per refresh (`begin_refresh()`): the first request with a token goes alone and the others wait for
its answer, so a revoked token costs one 401, not one per repository in flight; after a 401 every
request with that token fails with `unauthorized` before it is sent. The secret is read at most
once per refresh, and a read that returns a refused token is not used. Failed reads back off
(30 s doubling to 15 min, no jitter: one process, one reader) and are counted by a bounded reason.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from typing import Literal, Protocol

from pydantic import SecretStr

from exporter import tracing
from exporter.errors import SourceError
from exporter.settings import Settings

logger = logging.getLogger(__name__)

# A secret id and the seconds the read may take (the refresh deadline's remainder, or math.inf).
SecretFetcher = Callable[[str, float], str]
ReadErrorReason = Literal["access_denied", "not_found", "throttled", "connection", "timeout", "invalid_secret", "other"]
READ_ERROR_REASONS: tuple[ReadErrorReason, ...] = ReadErrorReason.__args__  # type: ignore[attr-defined]
RETRY_FIRST_SECONDS = 30.0
RETRY_MAX_SECONDS = 900.0
# botocore's own bounds for one read: connect 5 s, read 10 s, 3 attempts in all.
_CONNECT_SECONDS, _READ_SECONDS, _ATTEMPTS = 5.0, 10.0, 3
_ERROR_CODES: dict[str, ReadErrorReason] = {
    **dict.fromkeys(
        (
            "AccessDeniedException",
            "AccessDenied",
            "UnrecognizedClientException",
            "InvalidClientTokenId",
            "InvalidSignatureException",
            "SignatureDoesNotMatch",
            "ExpiredTokenException",
            "ExpiredToken",
            "MissingAuthenticationToken",
        ),
        "access_denied",
    ),
    "ResourceNotFoundException": "not_found",
    **dict.fromkeys(
        ("ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"), "throttled"
    ),
}


def secrets_manager_fetcher() -> SecretFetcher:
    """Read a secret string with boto3, honouring the standard AWS_* region and endpoint variables."""
    import boto3
    from botocore.config import Config

    def fetch(secret_id: str, seconds: float) -> str:
        # Within the time left: each attempt may take connect + read, and fewer attempts fit near the deadline.
        share = min(1.0, seconds / (_ATTEMPTS * (_CONNECT_SECONDS + _READ_SECONDS)))
        attempts = max(1, int(min(_ATTEMPTS, seconds // (_CONNECT_SECONDS + _READ_SECONDS))))
        config = Config(
            connect_timeout=max(0.1, _CONNECT_SECONDS * share),
            read_timeout=max(0.1, _READ_SECONDS * share),
            retries={"total_max_attempts": attempts, "mode": "standard"},
        )
        answer = boto3.client("secretsmanager", config=config).get_secret_value(SecretId=secret_id)
        if "SecretString" not in answer:
            raise InvalidSecret("the secret has no SecretString (a binary secret)")
        return str(answer["SecretString"])

    return fetch


class InvalidSecret(ValueError):
    """The secret was read but holds no usable token (its text says why, never the secret)."""


class SecretReadError(SourceError):
    """The secret could not be read: `no_token` for the refresh, with a bounded `read_reason` for the counter."""

    def __init__(self, read_reason: ReadErrorReason, message: str) -> None:
        super().__init__("no_token", message)
        self.read_reason: ReadErrorReason = read_reason


def read_error_reason(exc: BaseException) -> ReadErrorReason:
    """A bounded reason for a failed read, from botocore's error code or exception type."""
    if isinstance(exc, InvalidSecret):
        return "invalid_secret"
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return _ERROR_CODES.get(str(response.get("Error", {}).get("Code", "")), "other")
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & {"ConnectTimeoutError", "ReadTimeoutError", "TimeoutError"}:
        return "timeout"
    if names & {"NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError"}:
        return "access_denied"
    if names & {"EndpointConnectionError", "ConnectionClosedError", "HTTPClientError", "ConnectionError"}:
        return "connection"
    return "other"


def _token_from_secret(secret: str) -> str:
    """A secret holds the bare token, or JSON with a `token` or `GITHUB_TOKEN` key."""
    text = secret.strip()
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except ValueError:
            raise InvalidSecret("the secret is neither a bare token nor JSON") from None
        for key in ("token", "GITHUB_TOKEN", "github_token"):
            if isinstance(document, dict) and isinstance(document.get(key), str):
                return str(document[key])
        raise InvalidSecret("the secret's JSON has no 'token' key")
    if not text:
        raise InvalidSecret("the secret is empty")
    return text


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Credentials(Protocol):
    """What `GitHubSource` asks of a credential: a token per session, and what GitHub answered to it.

    `TokenProvider` (GITHUB_TOKEN or Secrets Manager) and `app_auth.AppTokenProvider` (a GitHub App's
    installation token) implement it; `cli.credentials_for` picks one from the settings."""

    def get(self, deadline: float | None = None) -> SecretStr | None: ...

    def begin_refresh(self) -> None: ...

    def admit(self, token: str, wait_seconds: float) -> bool: ...

    def answered(self, token: str, status: int | None, first: bool) -> None: ...

    def read_errors(self) -> Mapping[str, int]: ...


class RefusedTokens:
    """Remembers which tokens GitHub refused (by SHA-256 digest) and lets each refresh's first request
    with a token go alone; a subclass says what replaces a refused token (`_replaced_by`)."""

    def __init__(self) -> None:
        self._state = threading.Condition()  # the fields below (and a subclass's own)
        self._refused: set[str] = set()  # digests of tokens GitHub answered 401
        self._accepted: set[str] = set()  # digests GitHub answered (not 401) in this refresh
        self._probing: set[str] = set()  # digests with a first request in flight

    def admit(self, token: str, wait_seconds: float) -> bool:
        """Before a request with `token`: refuse a token GitHub refused; while another request is the
        refresh's first with it, wait (at most `wait_seconds`) for its answer. True: this one is the first."""
        digest = _digest(token)
        limit = time.monotonic() + wait_seconds  # a duration: on the real clock, as request timeouts are
        with self._state:
            while True:
                if digest in self._refused:
                    raise SourceError("unauthorized", self._refused_message())
                if digest in self._accepted:
                    return False
                if digest not in self._probing:
                    self._probing.add(digest)
                    return True
                left = limit - time.monotonic()
                if left <= 0:  # the first request is stuck past its own bounds: go without its answer
                    return False
                self._state.wait(timeout=left)

    def answered(self, token: str, status: int | None, first: bool) -> None:
        """After a request with `token`: a 401 refuses it for good, another answer accepts it for the
        refresh, no answer (None) lets the next request be the first."""
        digest = _digest(token)
        with self._state:
            if status == 401 and digest not in self._refused:
                self._refused.add(digest)
                logger.warning("GitHub refused the token (401): no request with it until %s", self._replaced_by())
            elif status is not None and status != 401:
                self._accepted.add(digest)
            if first:
                self._probing.discard(digest)
            self._state.notify_all()

    def _is_refused(self, token: str) -> bool:
        with self._state:
            return _digest(token) in self._refused

    def _forget_accepted(self) -> None:
        with self._state:
            self._accepted.clear()

    def _replaced_by(self) -> str:
        raise NotImplementedError

    def _refused_message(self) -> str:
        return f"GitHub refused the token (401); no request until {self._replaced_by()}"


class TokenProvider(RefusedTokens):
    """Hands out the token, remembers which tokens GitHub refused, and reads the secret with a budget."""

    def __init__(
        self,
        settings: Settings,
        fetcher: Callable[[], SecretFetcher] = secrets_manager_fetcher,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._settings = settings
        self._make_fetcher = fetcher
        self._fetcher: SecretFetcher | None = None
        self._monotonic = monotonic
        self._token: SecretStr | None = settings.github_token
        self._read_lock = threading.Lock()  # one read at a time; callers wait for its token
        self._reads_left = 1
        self._failures = 0  # consecutive failed reads
        self._retry_at: float | None = None
        self._last_error: SecretReadError | None = None
        self._read_errors: dict[ReadErrorReason, int] = dict.fromkeys(READ_ERROR_REASONS, 0)
        self.fetches = 0

    @property
    def uses_secrets_manager(self) -> bool:
        """True when the token comes from Secrets Manager rather than GITHUB_TOKEN."""
        return self._settings.github_token is None

    def begin_refresh(self) -> None:
        """A refresh starts: the secret may be read once more, and tokens are checked again by a first request."""
        with self._state:
            self._reads_left = 1
        self._forget_accepted()

    def read_errors(self) -> Mapping[str, int]:
        """Failed reads of the secret since start, by reason (empty when GITHUB_TOKEN is used)."""
        with self._state:
            return (
                {str(reason): count for reason, count in self._read_errors.items()} if self.uses_secrets_manager else {}
            )

    def get(self, deadline: float | None = None) -> SecretStr | None:
        """The token, or None for anonymous access (only when allowed); raises SourceError.

        `deadline` (monotonic) bounds a read of the secret: past it, no read starts (`timeout`)."""
        with self._read_lock:
            token = self._token
            if token is not None and not self._is_refused(token.get_secret_value()):
                return token
            if not self.uses_secrets_manager:
                raise SourceError("unauthorized", self._refused_message())
            try:
                return self._read(deadline)
            except SecretReadError:
                if self._settings.allow_anonymous and self._token is None:
                    return None
                raise

    def _replaced_by(self) -> str:
        if self.uses_secrets_manager:
            return f"secret {self._settings.github_token_secret_id!r} holds another token (read once a refresh)"
        return "GITHUB_TOKEN is replaced (a restart)"

    def _read(self, deadline: float | None) -> SecretStr:
        """Read the secret, unless this refresh already did, a backoff runs, or the deadline passed."""
        secret_id = self._settings.github_token_secret_id
        with self._state:
            now = self._monotonic()
            if self._reads_left <= 0 or (self._retry_at is not None and now < self._retry_at):
                raise self._not_read_now(now)
            seconds = math.inf if deadline is None else deadline - now
            if seconds <= 0:
                raise SourceError("timeout", f"the refresh deadline passed before secret {secret_id!r} was read")
            self._reads_left -= 1
        try:
            token = self._fetch(secret_id, seconds)
        except SecretReadError as exc:
            raise self._failed(exc) from None
        with self._state:
            self._failures, self._retry_at, self._last_error = 0, None, None
        if self._is_refused(token):
            raise SourceError(
                "unauthorized",
                f"secret {secret_id!r} still holds the token GitHub refused (401); it is read again next refresh",
            )
        self._token = SecretStr(token)
        return self._token

    def _not_read_now(self, now: float) -> SourceError:
        """Why this call does not read the secret: the last read failed, or the token was refused."""
        if self._last_error is None:  # the token was refused and this refresh read the secret already
            return SourceError("unauthorized", self._refused_message())
        wait = 0.0 if self._retry_at is None else self._retry_at - now
        when = f"in {wait:.0f}s" if wait > 0 else "on the next refresh"
        return SecretReadError(self._last_error.read_reason, f"{self._last_error}; next read of the secret {when}")

    def _failed(self, exc: SecretReadError) -> SecretReadError:
        """Count a failed read and back off: 30 s, doubling to at most 15 minutes."""
        with self._state:
            self._failures += 1
            delay = min(RETRY_FIRST_SECONDS * 2 ** (self._failures - 1), RETRY_MAX_SECONDS)
            self._retry_at = self._monotonic() + delay
            self._last_error = exc
            self._read_errors[exc.read_reason] += 1
        failed = SecretReadError(exc.read_reason, f"{exc}; next read of the secret in {delay:.0f}s")
        logger.warning("%s", failed)
        return failed

    def _fetch(self, secret_id: str, seconds: float) -> str:
        self.fetches += 1
        try:
            with tracing.span("secretsmanager.get_secret_value", resource=secret_id, tags={"secret_id": secret_id}):
                if self._fetcher is None:
                    self._fetcher = self._make_fetcher()
                token = _token_from_secret(self._fetcher(secret_id, seconds))
        except InvalidSecret as exc:
            raise SecretReadError("invalid_secret", f"secret {secret_id!r}: {exc}") from None
        except Exception as exc:  # botocore raises many types; the name and class say enough
            raise SecretReadError(
                read_error_reason(exc),
                f"GITHUB_TOKEN is not set and secret {secret_id!r} could not be read from AWS Secrets Manager "
                f"({type(exc).__name__}); set GITHUB_TOKEN, grant access to the secret, "
                "or set EXPORTER_ALLOW_ANONYMOUS=true",
            ) from None
        logger.info("read the GitHub token from AWS Secrets Manager secret %s", secret_id)
        return token
