"""GitHub Apps on the fake GitHub: installations, the App's JWT and the installation tokens it buys.

Imitates what GitHub does for an App (https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app):
`GET /app/installations`, `GET /orgs/{org}/installation` and `POST /app/installations/{id}/access_tokens`
take `Authorization: Bearer <JWT>`, an RS256 JWT checked with the App's public key, whose `iss` is the
App's id, `iat` in the past and `exp` in the future, at most 10 minutes after `iat` and ahead of now
(GitHub's clock: the fake's `clock`). A token (`ghs_…`) lasts an hour and is accepted by the REST
endpoints until then; a removed installation has no token minted (404) and its tokens are refused (401).
PyJWT is imported only when a JWT is checked (the fake serves the demo with the standard library).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from exporter.demo import payloads
from exporter.demo.routes import Answer, not_found

TOKEN_LIFETIME = timedelta(hours=1)
MAX_JWT_SECONDS = 600
PERMISSIONS = {"actions": "read", "contents": "read", "metadata": "read"}
_PATHS = re.compile(r"/app/installations|/orgs/[^/]+/installation|/app/installations/(\d+)/access_tokens")


@dataclass
class FakeInstallation:
    """One installation of the App, on an organisation."""

    id: int
    org: str
    removed: bool = False


@dataclass
class FakeApp:
    """The GitHub App the fake knows: its id, the public half of its key, and its installations."""

    id: int
    public_key_pem: bytes
    installations: list[FakeInstallation] = field(default_factory=list)
    slug: str = "system-health-exporter"
    # token -> (installation id, expires at): every token minted, including expired ones.
    tokens: dict[str, tuple[int, datetime]] = field(default_factory=dict)

    def installation(self, installation_id: int) -> FakeInstallation | None:
        return next((i for i in self.installations if i.id == installation_id and not i.removed), None)

    def remove_installation(self, installation_id: int) -> None:
        """The App is uninstalled there: no new token (404), and its tokens are refused (401)."""
        for installation in self.installations:
            if installation.id == installation_id:
                installation.removed = True

    def token_refused(self, token: str, now: datetime) -> bool | None:
        """True for a token this App minted that expired or lost its installation (or an unknown `ghs_…`),
        False for one still good, None for a token that is not an App's."""
        minted = self.tokens.get(token)
        if minted is None:
            return True if token.startswith("ghs_") else None
        installation_id, expires_at = minted
        return now >= expires_at or self.installation(installation_id) is None


def is_app_path(method: str, path: str) -> bool:
    """True for a request the App endpoints answer (a JWT's business, not the installation's rate limit)."""
    match = _PATHS.fullmatch(path)
    if match is None:
        return False
    return method == ("POST" if path.endswith("/access_tokens") else "GET")


def jwt_problem(app: FakeApp, authorization: str, now: datetime) -> str | None:
    """GitHub's message refusing the JWT of `Authorization: Bearer <JWT>`, or None when it is the App's and current."""
    import jwt

    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return "A JSON web token could not be decoded"
    try:
        claims = jwt.decode(
            token.strip(),
            app.public_key_pem,
            algorithms=["RS256"],
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False, "require": ["iat", "exp", "iss"]},
        )
    except jwt.InvalidTokenError:
        return "A JSON web token could not be decoded"
    if str(claims["iss"]) != str(app.id):
        return f"Integration not found (iss {claims['iss']!r})"
    iat, exp, moment = claims["iat"], claims["exp"], int(now.timestamp())
    if not isinstance(iat, int) or iat > moment:
        return "'Issued at' claim ('iat') must be an Integer representing a time in the past"
    if not isinstance(exp, int) or exp <= moment:
        return (
            "'Expiration time' claim ('exp') must be a numeric value representing the future time "
            "at which the assertion expires"
        )
    if exp - iat > MAX_JWT_SECONDS or exp - moment > MAX_JWT_SECONDS:
        return "'Expiration time' claim ('exp') is too far in the future"
    return None


def answer(app: FakeApp | None, base: str, method: str, path: str, authorization: str, now: datetime) -> Answer:
    """Answer one App request like GitHub: 401 for a bad JWT, else the installations or a new token."""
    if app is None:
        return not_found()
    problem = jwt_problem(app, authorization, now)
    if problem is not None:
        return Answer(401, payloads.error(problem, 401))
    if path == "/app/installations":
        return Answer(200, [installation(app, base, i) for i in app.installations if not i.removed])
    match = re.fullmatch(r"/orgs/([^/]+)/installation", path)
    if match:
        found = next((i for i in app.installations if i.org.lower() == match[1].lower() and not i.removed), None)
        return Answer(200, installation(app, base, found)) if found else not_found()
    match = re.fullmatch(r"/app/installations/(\d+)/access_tokens", path)
    found = app.installation(int(match[1])) if match else None
    if found is None:
        return not_found()
    token = f"ghs_{secrets.token_urlsafe(27)}"
    expires_at = now + TOKEN_LIFETIME
    app.tokens[token] = (found.id, expires_at)
    body = {
        "token": token,
        "expires_at": payloads.iso(expires_at),
        "permissions": dict(PERMISSIONS),
        "repository_selection": "all",
    }
    return Answer(201, body)


def installation(app: FakeApp, base: str, found: FakeInstallation) -> dict[str, Any]:
    """An `installation` object, as GitHub describes one of the App's installations."""
    created = payloads.iso(datetime(2024, 1, 1, tzinfo=UTC))
    return {
        "id": found.id,
        # GitHub's list schema wants an account that is a user and an enterprise at once (allOf).
        "account": {
            **payloads.user(base, found.org, "Organization"),
            "name": found.org,
            "slug": found.org.lower(),
            "created_at": created,
            "updated_at": created,
        },
        "repository_selection": "all",
        "access_tokens_url": f"{base}/app/installations/{found.id}/access_tokens",
        "repositories_url": f"{base}/installation/repositories",
        "html_url": f"https://github.com/organizations/{found.org}/settings/installations/{found.id}",
        "app_id": app.id,
        "app_slug": app.slug,
        "target_id": payloads.user(base, found.org, "Organization")["id"],
        "target_type": "Organization",
        "permissions": dict(PERMISSIONS),
        "events": [],
        "created_at": created,
        "updated_at": created,
        "single_file_name": None,
        "has_multiple_single_files": False,
        "single_file_paths": [],
        "suspended_by": None,
        "suspended_at": None,
    }
