"""A GitHub App's installation token: minted with a JWT the App's private key signs, renewed before it expires.

One `AppTokenProvider` per process serves every repository's client. It signs a JWT (RS256) on its
own clock, exchanges it for an installation token (`POST /app/installations/{id}/access_tokens`,
the installation found once by `GET /orgs/{org}/installation` when only the organisation is set),
and hands that token out until five minutes before its `expires_at`. GitHub's 401 on a token is
remembered as for a personal token (`credentials.RefusedTokens`): no request with it again, and
the next session mints a new one, at most once a refresh. A failed mint is not retried within the
refresh; while the previous token has not expired it is still used.

Why not PyGithub's `Auth.AppInstallationAuth`: its token cache lives in the auth object of one
`Github` client (we build one per repository per refresh, so each would mint), it is not locked
(two threads mint two tokens), it keeps a token GitHub refused until its expiry, and it reads the
wall clock itself (`time.time()` for the JWT, `datetime.now()` for renewal), so neither skew nor
renewal could be tested without patching. The exchange still goes through PyGithub's Requester, so
through `transport` (bounded answers, tracing) and its typed errors; PyJWT signs the JWT, as inside
PyGithub. These requests do not pass the rate-limit observer: a JWT has its own limit, not the
installation's.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from github import Auth, Github, GithubException
from pydantic import SecretStr

from exporter import __version__, tracing
from exporter.errors import SourceError
from exporter.github import answers, transport
from exporter.github.credentials import (
    InvalidSecret,
    RefusedTokens,
    SecretFetcher,
    read_error_reason,
    secrets_manager_fetcher,
)
from exporter.github.source import _retry_policy, classify
from exporter.settings import Settings, SettingsError, configuration_error

logger = logging.getLogger(__name__)

RENEW_BEFORE_SECONDS = 300.0  # renew an installation token this long before its expires_at
# GitHub: `iat` in the past (it recommends 60 s back, against drift), `exp` at most 10 minutes ahead.
# 180 s back and 300 s ahead (a 480 s JWT) keep both true with the exporter's clock up to 3 minutes
# ahead of GitHub's or 5 minutes behind it. A JWT is used at once and never kept.
JWT_BACKDATE_SECONDS = 180
JWT_AHEAD_SECONDS = 300
KEY_READ_SECONDS = 30.0  # the whole read of a private key from Secrets Manager, at start
_REDACTED = "<an installation token answer: not logged>"


@dataclass(frozen=True)
class InstallationToken:
    """A minted token and when GitHub said it expires (Unix time)."""

    token: SecretStr
    expires_at: float


def load_private_key(
    settings: Settings, fetcher: Callable[[], SecretFetcher] = secrets_manager_fetcher
) -> rsa.RSAPrivateKey:
    """The App's private key, from whichever variable holds it; a problem fails at start, naming the
    variable and never showing the key (SettingsError), or the secret that could not be read (SourceError)."""
    if settings.github_app_private_key is not None:
        variable, shown = "EXPORTER_GITHUB_APP_PRIVATE_KEY", None
        text = settings.github_app_private_key.get_secret_value()
    elif settings.github_app_private_key_file is not None:
        variable, shown = "EXPORTER_GITHUB_APP_PRIVATE_KEY_FILE", settings.github_app_private_key_file
        try:
            text = Path(shown).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problem = getattr(exc, "strerror", None) or type(exc).__name__
            raise configuration_error(variable, shown, f"the file cannot be read ({problem})") from None
    elif settings.github_app_private_key_secret_id is not None:
        variable, shown = "EXPORTER_GITHUB_APP_PRIVATE_KEY_SECRET_ID", settings.github_app_private_key_secret_id
        text = _read_key_secret(shown, fetcher)
    else:
        raise configuration_error("EXPORTER_GITHUB_APP_PRIVATE_KEY", "", "no private key is set for the GitHub App")
    try:
        key = serialization.load_pem_private_key(text.strip().encode(), password=None)
    except (ValueError, TypeError, UnicodeError) as exc:  # the library's text is not shown: it could quote the input
        raise _key_error(
            variable, shown, f"not a PEM private key without a passphrase ({type(exc).__name__})"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise _key_error(variable, shown, f"GitHub Apps sign with RSA keys, not {type(key).__name__}")
    return key


def _key_error(variable: str, shown: str | None, problem: str) -> SettingsError:
    """As `configuration_error`, with the key itself (`shown` None) never shown."""
    if shown is None:
        return SettingsError(f"invalid configuration: {variable}=<hidden>: {problem}")
    return configuration_error(variable, shown, problem)


def _read_key_secret(secret_id: str, fetcher: Callable[[], SecretFetcher]) -> str:
    try:
        with tracing.span("secretsmanager.get_secret_value", resource=secret_id, tags={"secret_id": secret_id}):
            text = fetcher()(secret_id, KEY_READ_SECONDS)
    except Exception as exc:  # botocore raises many types; the name and a bounded reason say enough
        reason = read_error_reason(exc) if not isinstance(exc, InvalidSecret) else "invalid_secret"
        raise SourceError(
            "no_token",
            f"the GitHub App's private key could not be read from AWS Secrets Manager secret {secret_id!r} "
            f"(EXPORTER_GITHUB_APP_PRIVATE_KEY_SECRET_ID; {reason}, {type(exc).__name__})",
        ) from None
    logger.info("read the GitHub App's private key from AWS Secrets Manager secret %s", secret_id)
    return text


class _NoTokenBodies(logging.Filter):
    """PyGithub's Requester logs every answer's body at DEBUG; an access-token answer's body is the token."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and any(isinstance(arg, str) and "/access_tokens" in arg for arg in args):
            record.args = (*args[:-1], _REDACTED)
        return True


_NO_TOKEN_BODIES = _NoTokenBodies()


class AppTokenProvider(RefusedTokens):
    """Hands out one installation token for the whole process, minted on demand and renewed before it expires."""

    def __init__(
        self,
        settings: Settings,
        private_key: rsa.RSAPrivateKey,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        if settings.github_app_id is None:
            raise ValueError("AppTokenProvider needs EXPORTER_GITHUB_APP_ID")
        self._settings = settings
        self._app_id = settings.github_app_id
        self._key = private_key
        self._clock = clock
        self._monotonic = monotonic
        self._installation_id = settings.github_app_installation_id
        self._mint_lock = threading.Lock()  # one mint at a time; callers wait for its token
        self._current: InstallationToken | None = None
        self._mints_left = 1
        self._last_error: SourceError | None = None
        self.mints = 0
        # Not retried by PyGithub's Requester on a 5xx (a POST), nor counted by the installation's rate limit.
        self._hooks = transport.HttpHooks(
            [tracing.github_request_span, answers.check], max_answer_bytes=settings.max_answer_bytes
        )
        transport.install()
        requester_log = logging.getLogger("github.Requester")
        if _NO_TOKEN_BODIES not in requester_log.filters:
            requester_log.addFilter(_NO_TOKEN_BODIES)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        fetcher: Callable[[], SecretFetcher] = secrets_manager_fetcher,
        clock: Callable[[], float] = time.time,
    ) -> AppTokenProvider:
        """A provider with the private key read now (at start), from the variable that holds it."""
        return cls(settings, load_private_key(settings, fetcher), clock=clock)

    def begin_refresh(self) -> None:
        """A refresh starts: a token may be minted once more, and tokens are checked again by a first request."""
        with self._state:
            self._mints_left = 1
        self._forget_accepted()

    def read_errors(self) -> Mapping[str, int]:
        """Nothing is read from Secrets Manager after start (the key is read once, a failure stops the start)."""
        return {}

    def get(self, deadline: float | None = None) -> SecretStr:
        """The installation token: the current one until five minutes before it expires, else a new one."""
        with self._mint_lock:
            now = self._clock()
            with self._state:
                current = self._current
                usable = (
                    current is not None
                    and now < current.expires_at
                    and not self._is_refused(current.token.get_secret_value())
                )
                if current is not None and usable and now < current.expires_at - RENEW_BEFORE_SECONDS:
                    return current.token
                if self._mints_left <= 0:
                    if current is not None and usable:
                        return current.token
                    raise self._not_minted_now()
                self._mints_left -= 1
            try:
                minted = self._mint(deadline)
            except SourceError as exc:
                with self._state:
                    self._last_error = exc
                if current is not None and usable:
                    logger.warning("%s; the current installation token is used until it expires", exc)
                    return current.token
                logger.warning("%s", exc)
                raise
            with self._state:
                self._current, self._last_error = minted, None
            return minted.token

    def jwt(self) -> str:
        """A JWT for the App, signed now on the exporter's clock (GitHub's limits: see JWT_BACKDATE_SECONDS)."""
        now = int(self._clock())
        claims = {"iat": now - JWT_BACKDATE_SECONDS, "exp": now + JWT_AHEAD_SECONDS, "iss": str(self._app_id)}
        return jwt.encode(claims, self._key, algorithm="RS256")

    def _replaced_by(self) -> str:
        return "a new installation token is minted for the GitHub App (at most once a refresh)"

    def _not_minted_now(self) -> SourceError:
        if self._last_error is not None:
            return SourceError(self._last_error.reason, f"{self._last_error}; next attempt on the next refresh")
        return SourceError("unauthorized", self._refused_message())

    def _mint(self, deadline: float | None) -> InstallationToken:
        seconds = math.inf if deadline is None else deadline - self._monotonic()
        if seconds <= 0:
            raise SourceError("timeout", "the refresh deadline passed before a GitHub App token was minted")
        self.mints += 1
        client = Github(
            auth=Auth.AppAuthToken(self.jwt()),
            base_url=self._settings.github_api_url,
            timeout=self._settings.github_timeout_seconds,
            retry=_retry_policy(self._settings.github_retries),
            lazy=True,
            seconds_between_requests=None,
            seconds_between_writes=None,
            user_agent=f"system-health-exporter/{__version__}",
        )
        with transport.using(self._hooks), tracing.span("github.app.mint_token", resource=str(self._app_id)):
            installation_id = self._installation_id or self._find_installation(client)
            answer = self._request(client, "POST", f"/app/installations/{installation_id}/access_tokens")
        token, expires = answer.get("token"), answer.get("expires_at")
        if not isinstance(token, str) or not token or not isinstance(expires, str):
            raise SourceError("bad_response", "GitHub's installation token answer lacks token or expires_at")
        try:
            expires_at = datetime.fromisoformat(expires.replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise SourceError("bad_response", "the installation token answer's expires_at is not a time") from None
        logger.info(
            "minted an installation token for GitHub App %d, installation %d, expiring at %s",
            self._app_id,
            installation_id,
            expires,
        )
        return InstallationToken(SecretStr(token), expires_at)

    def _find_installation(self, client: Github) -> int:
        """The installation on EXPORTER_GITHUB_APP_INSTALLATION_ORG, looked up once."""
        org = self._settings.github_app_installation_org
        answer = self._request(client, "GET", f"/orgs/{org}/installation")
        installation_id = answer.get("id")
        if not isinstance(installation_id, int) or isinstance(installation_id, bool):
            raise SourceError("bad_response", f"GitHub's answer for the installation on {org} has no id")
        logger.info("GitHub App %d is installed on %s as installation %d", self._app_id, org, installation_id)
        self._installation_id = installation_id
        return installation_id

    def _request(self, client: Github, verb: str, path: str) -> dict[str, Any]:
        try:
            _, answer = client.requester.requestJsonAndCheck(verb, path)
        except GithubException as exc:
            raise self._refusal(exc, path) from None
        except Exception as exc:
            failed = classify(exc)
            raise SourceError(failed.reason, f"minting a GitHub App installation token: {failed}") from None
        if not isinstance(answer, dict):
            raise SourceError("bad_response", f"GitHub's answer for {verb} {path} is not a JSON object")
        return answer

    def _refusal(self, exc: GithubException, path: str) -> SourceError:
        """What GitHub's refusal of an App request means, naming the variable to check (never a secret)."""
        data = exc.data if isinstance(exc.data, dict) else {}
        said = f"{exc.status}" + (f": {str(data['message'])[:200]}" if data.get("message") else "")
        app = f"GitHub App {self._app_id} (EXPORTER_GITHUB_APP_ID)"
        org = self._settings.github_app_installation_org
        if exc.status == 401:
            return SourceError(
                "unauthorized",
                f"GitHub refused the JWT of {app} ({said}): check that the private key is this App's "
                "and that the clock is right within a few minutes",
            )
        if exc.status == 404 and path.startswith("/orgs/"):
            return SourceError(
                "unauthorized",
                f"{app} is not installed on organisation {org} "
                f"(EXPORTER_GITHUB_APP_INSTALLATION_ORG; GitHub answered {said})",
            )
        if exc.status in (403, 404):
            where = f"installation {self._installation_id}" + (
                f" (found on organisation {org})" if org else " (EXPORTER_GITHUB_APP_INSTALLATION_ID)"
            )
            if org:  # uninstalled and installed again has a new id: look it up again next time
                self._installation_id = None
            return SourceError(
                "unauthorized",
                f"{app} could not mint a token for {where}: "
                f"removed, suspended or not this App's (GitHub answered {said})",
            )
        failed = classify(exc)
        return SourceError(failed.reason, f"minting a GitHub App installation token: {failed}")
