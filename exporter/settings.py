"""Typed settings, parsed once from the environment (or any mapping)."""

from __future__ import annotations

import ipaddress
import os
import re
import urllib.parse
from collections.abc import Mapping
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from exporter.metrics.deploy_source import (
    DEFAULT_DEPLOY_SOURCE,
    DeploySource,
    DeploySourceOverrides,
    DeploySourceSetting,
    overrides_text,
)
from exporter.metrics.goals import GoalOverride, parse_overrides

# GitHub's rules: an owner is 1-39 letters, digits or single inner hyphens; a name 1-100 of [A-Za-z0-9._-].
_OWNER = re.compile(r"^[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}$")
_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_GLOB = re.compile(r"^[A-Za-z0-9._*?\[\]!/-]+$")
_TOPIC = re.compile(r"^[a-z0-9][a-z0-9-]{0,49}$")
_HOST = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*\.?$")


class SettingsError(ValueError):
    """A configuration variable has a value the exporter cannot use."""


class RepoOwner(NamedTuple):
    """An `org:NAME` or `user:NAME` entry of EXPORTER_REPOS: an account whose repositories are discovered."""

    kind: Literal["org", "user"]
    name: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"


def _comma_list(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


def _empty_is_none(value: Any) -> Any:
    return None if value == "" else value


CommaList = Annotated[tuple[str, ...], BeforeValidator(_comma_list)]
OptionalStr = Annotated[str | None, BeforeValidator(_empty_is_none)]
OptionalSecret = Annotated[SecretStr | None, BeforeValidator(_empty_is_none)]
OptionalInt = Annotated[int | None, BeforeValidator(_empty_is_none)]
GoalOverrides = Annotated[
    tuple[GoalOverride, ...], BeforeValidator(lambda v: parse_overrides(v) if isinstance(v, str) else v)
]


class Settings(BaseModel):
    """Everything the exporter can be told, by environment variable name."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    repos: CommaList = Field(("Metta-AI/metta",), alias="EXPORTER_REPOS")  # owner/name; org:/user: entries below
    branch: str = Field("main", alias="EXPORTER_BRANCH", min_length=1)
    ci_workflow: str = Field("checks.yml", alias="EXPORTER_CI_WORKFLOW", min_length=1)
    ci_required_jobs: CommaList = Field((), alias="EXPORTER_CI_REQUIRED_JOBS")
    lookback_days: int = Field(7, alias="EXPORTER_LOOKBACK_DAYS", ge=1, le=365)
    github_api_url: str = Field("https://api.github.com", alias="EXPORTER_GITHUB_API_URL")
    github_token: OptionalSecret = Field(None, alias="GITHUB_TOKEN")
    github_token_secret_id: str = Field("github/dashboard-token", alias="EXPORTER_GITHUB_TOKEN_SECRET_ID")
    allow_anonymous: bool = Field(False, alias="EXPORTER_ALLOW_ANONYMOUS")
    github_timeout_seconds: int = Field(10, alias="EXPORTER_GITHUB_TIMEOUT_SECONDS", gt=0, le=120)
    github_retries: int = Field(2, alias="EXPORTER_GITHUB_RETRIES", ge=0, le=5)
    github_concurrency: int = Field(32, alias="EXPORTER_GITHUB_CONCURRENCY", ge=1, le=100)
    refresh_deadline_seconds: float = Field(600.0, alias="EXPORTER_REFRESH_DEADLINE_SECONDS", gt=0, le=3600)
    cache_ttl_seconds: float = Field(300.0, alias="EXPORTER_CACHE_TTL_SECONDS", ge=0)
    scrape_wait_seconds: float = Field(5.0, alias="EXPORTER_SCRAPE_WAIT_SECONDS", ge=0, le=60)
    max_staleness_seconds: float = Field(3600.0, alias="EXPORTER_MAX_STALENESS_SECONDS", gt=0)
    host: str = Field("127.0.0.1", alias="EXPORTER_HOST", min_length=1)
    port: int = Field(9877, alias="EXPORTER_PORT", ge=1, le=65535)
    log_level: str = Field("INFO", alias="EXPORTER_LOG_LEVEL")
    refresh_token: SecretStr | None = Field(None, alias="EXPORTER_REFRESH_TOKEN")
    refresh_min_interval_seconds: float = Field(10.0, alias="EXPORTER_REFRESH_MIN_INTERVAL_SECONDS", ge=0)

    dd_trace_enabled: bool = Field(False, alias="DD_TRACE_ENABLED")
    dd_service: str = Field("metta", alias="DD_SERVICE", min_length=1)
    dd_env: str = Field("development", alias="DD_ENV", min_length=1)
    dd_version: OptionalStr = Field(None, alias="DD_VERSION")
    dd_agent_host: OptionalStr = Field(None, alias="DD_AGENT_HOST")
    dd_trace_agent_port: int = Field(8126, alias="DD_TRACE_AGENT_PORT", ge=1, le=65535)
    dd_trace_agent_url: OptionalStr = Field(None, alias="DD_TRACE_AGENT_URL")
    dd_site: str = Field("datadoghq.com", alias="DD_SITE", min_length=1)

    # Conditional requests (exporter/etag_cache.py): a 304 costs no rate-limit point.
    conditional_requests: bool = Field(True, alias="EXPORTER_CONDITIONAL_REQUESTS")
    http_cache_max_entries: int = Field(10_000, alias="EXPORTER_HTTP_CACHE_MAX_ENTRIES", ge=1, le=1_000_000)
    http_cache_max_bytes: int = Field(64 * 1024 * 1024, alias="EXPORTER_HTTP_CACHE_MAX_BYTES", ge=0, le=2**34)

    # Rate limits (exporter/github/rate_limit.py): requests left unspent before the reset (capped at limit/10).
    rate_limit_reserve: int = Field(100, alias="EXPORTER_RATE_LIMIT_RESERVE", ge=0, le=100_000)
    # Secondary limits (exporter/github/pacing.py): GitHub's are 900 points a minute and 100 requests at once.
    github_points_per_minute: int = Field(720, alias="EXPORTER_GITHUB_POINTS_PER_MINUTE", ge=1, le=900)
    github_max_in_flight: int = Field(50, alias="EXPORTER_GITHUB_MAX_IN_FLIGHT", ge=1, le=100)

    # Goals and switches (exporter/metrics/goals.py); keys are checked by MetricRegistry.configured at start.
    goals: GoalOverrides = Field((), alias="EXPORTER_GOALS")
    metrics_disabled: CommaList = Field((), alias="EXPORTER_METRICS_DISABLED")

    # Answers (exporter/github/transport.py): an answer decoded past this many bytes fails (too_large).
    max_answer_bytes: int = Field(16 * 1024 * 1024, alias="EXPORTER_MAX_ANSWER_BYTES", ge=64 * 1024, le=2**30)
    # Plain http:// to a host that is not loopback: the token would travel in clear text.
    allow_insecure_http: bool = Field(False, alias="EXPORTER_ALLOW_INSECURE_HTTP")

    # A GitHub App instead of a token (exporter/github/app_auth.py): the App's id, its private key
    # (PEM text, a file read at start, or a Secrets Manager secret read at start), and the
    # installation (by id, or the organisation it is installed on).
    github_app_id: OptionalInt = Field(None, alias="EXPORTER_GITHUB_APP_ID", gt=0)
    github_app_private_key: OptionalSecret = Field(None, alias="EXPORTER_GITHUB_APP_PRIVATE_KEY")
    github_app_private_key_file: OptionalStr = Field(None, alias="EXPORTER_GITHUB_APP_PRIVATE_KEY_FILE")
    github_app_private_key_secret_id: OptionalStr = Field(None, alias="EXPORTER_GITHUB_APP_PRIVATE_KEY_SECRET_ID")
    github_app_installation_id: OptionalInt = Field(None, alias="EXPORTER_GITHUB_APP_INSTALLATION_ID", gt=0)
    github_app_installation_org: OptionalStr = Field(None, alias="EXPORTER_GITHUB_APP_INSTALLATION_ORG")

    # Datadog's API, for `exporter datadog push` only (exporter/datadog/keys.py, push.py): the keys from
    # here, else from these Secrets Manager ids; the API's URL from DD_SITE unless given.
    dd_api_key: OptionalSecret = Field(None, alias="DD_API_KEY")
    dd_app_key: OptionalSecret = Field(None, alias="DD_APP_KEY")
    dd_api_key_secret_id: str = Field("datadog/api-key", alias="EXPORTER_DD_API_KEY_SECRET_ID", min_length=1)
    dd_app_key_secret_id: str = Field("datadog/app-key", alias="EXPORTER_DD_APP_KEY_SECRET_ID", min_length=1)
    datadog_api_url: OptionalStr = Field(None, alias="EXPORTER_DATADOG_API_URL")

    # Sharding (exporter/sharding.py): this process refreshes only the repositories that hash to its index.
    shards: int = Field(1, alias="EXPORTER_SHARDS", ge=1, le=1000)
    shard_index: int = Field(0, alias="EXPORTER_SHARD_INDEX", ge=0)

    @model_validator(mode="after")
    def _shard_index_is_below_shards(self) -> Settings:
        if self.shard_index >= self.shards:
            raise ValueError(
                f"EXPORTER_SHARD_INDEX={self.shard_index!r} with EXPORTER_SHARDS={self.shards!r}: "
                f"the index must be from 0 to {self.shards - 1}"
            )
        return self

    # DORA keys (exporter/metrics/dora.py): where a repository's deployments come from (see DeploySource).
    deploy_source: DeploySourceSetting = Field(DEFAULT_DEPLOY_SOURCE, alias="EXPORTER_DEPLOY_SOURCE")
    deploy_sources: DeploySourceOverrides = Field((), alias="EXPORTER_DEPLOY_SOURCES")

    @model_validator(mode="after")
    def _deploy_sources_name_watched_repos(self) -> Settings:
        watched = {repo.casefold() for repo in self.repos}
        owners = {owner.name.casefold() for owner in self.discovery_owners}  # their repositories may be discovered
        for repo, _ in self.deploy_sources:
            if repo.casefold() not in watched and repo.partition("/")[0].casefold() not in owners:
                raise ValueError(
                    f"EXPORTER_DEPLOY_SOURCES={overrides_text(self.deploy_sources)!r}: {repo!r} is not one "
                    f"of EXPORTER_REPOS ({', '.join(self.repos)})"
                )
        return self

    # Organisation discovery (exporter/github/discovery.py): EXPORTER_REPOS's `org:NAME` / `user:NAME`
    # entries (split from it by `_owners_from_repos`), listed every interval, filtered, bounded in number.
    discovery_owners: tuple[RepoOwner, ...] = ()
    discovery_include: CommaList = Field((), alias="EXPORTER_DISCOVERY_INCLUDE")
    discovery_exclude: CommaList = Field((), alias="EXPORTER_DISCOVERY_EXCLUDE")
    discovery_topics: CommaList = Field((), alias="EXPORTER_DISCOVERY_TOPICS")
    discovery_include_archived: bool = Field(False, alias="EXPORTER_DISCOVERY_INCLUDE_ARCHIVED")
    discovery_include_forks: bool = Field(False, alias="EXPORTER_DISCOVERY_INCLUDE_FORKS")
    discovery_include_empty: bool = Field(False, alias="EXPORTER_DISCOVERY_INCLUDE_EMPTY")
    discovery_interval_seconds: float = Field(3600.0, alias="EXPORTER_DISCOVERY_INTERVAL_SECONDS", ge=60, le=86400)
    max_repos: int = Field(1000, alias="EXPORTER_MAX_REPOS", ge=1, le=10_000)

    @model_validator(mode="before")
    @classmethod
    def _owners_from_repos(cls, data: Any) -> Any:
        """EXPORTER_REPOS's `kind:NAME` entries go to `discovery_owners`; owner/name entries stay `repos`."""
        key = next((k for k in ("EXPORTER_REPOS", "repos") if isinstance(data, dict) and k in data), None)
        if key is None:
            return data
        entries = _comma_list(data[key])
        if not isinstance(entries, tuple | list):
            return data
        if not entries:
            raise ValueError(f"EXPORTER_REPOS={data[key]!r}: expected at least one owner/name, org:NAME or user:NAME")
        if not any(isinstance(e, str) and ":" in e for e in entries):
            return data
        owners = tuple(_owner(entry, data[key]) for entry in entries if ":" in entry)
        seen: dict[str, RepoOwner] = {}
        for owner in owners:
            first = seen.setdefault(owner.name.casefold(), owner)
            if first is not owner:
                raise ValueError(
                    f"EXPORTER_REPOS={data[key]!r}: {str(owner)!r} is listed twice (as {str(first)!r}; "
                    "GitHub names ignore case)"
                )
        return {**data, key: tuple(e for e in entries if ":" not in e), "discovery_owners": owners}

    @model_validator(mode="after")
    def _named_repositories_within_the_bound(self) -> Settings:
        if len(self.repos) > self.max_repos:
            raise ValueError(
                f"EXPORTER_REPOS names {len(self.repos)} repositories, more than EXPORTER_MAX_REPOS={self.max_repos}: "
                "raise the bound or name fewer"
            )
        return self

    @field_validator("discovery_include", "discovery_exclude")
    @classmethod
    def _globs_can_match_names(cls, globs: tuple[str, ...]) -> tuple[str, ...]:
        for glob in globs:
            if not _GLOB.match(glob) or glob.count("/") > 1:
                raise ValueError(
                    f"{glob!r} is not a glob on a repository's name or owner/name "
                    "(letters, digits, '.', '-', '_', '*', '?', '[', ']', '!', at most one '/')"
                )
        return globs

    @field_validator("discovery_topics")
    @classmethod
    def _topics_are_githubs(cls, topics: tuple[str, ...]) -> tuple[str, ...]:
        for topic in topics:
            if not _TOPIC.match(topic.lower()):
                raise ValueError(f"{topic!r} is not a GitHub topic (1-50 lowercase letters, digits or hyphens)")
        return tuple(topic.lower() for topic in topics)

    def deploy_source_for(self, repo: str) -> DeploySource:
        """The deployment source of `repo`: its EXPORTER_DEPLOY_SOURCES entry, else EXPORTER_DEPLOY_SOURCE."""
        return next(
            (source for name, source in self.deploy_sources if name.casefold() == repo.casefold()), self.deploy_source
        )

    # Pull-request flow (exporter/metrics/prs.py): an open pull request not updated for this long is stale.
    pr_stale_days: int = Field(14, alias="EXPORTER_PR_STALE_DAYS", ge=1, le=365)

    # GitHub webhooks (exporter/web/webhooks.py): a verified delivery marks its repository changed.
    webhook_secret: SecretStr | None = Field(None, alias="EXPORTER_WEBHOOK_SECRET")
    webhook_max_bytes: int = Field(1024 * 1024, alias="EXPORTER_WEBHOOK_MAX_BYTES", ge=1024, le=25 * 1024 * 1024)

    # What changed (exporter/changes.py): pull requests and deployments, which no cheap signal announces, are
    # read again on a staggered sweep that keeps each within this bound (0: every refresh).
    slow_data_seconds: float = Field(3600.0, alias="EXPORTER_SLOW_DATA_SECONDS", ge=0, le=7 * 86400)

    @field_validator("repos")
    @classmethod
    def _repos_are_owner_slash_name(cls, repos: tuple[str, ...]) -> tuple[str, ...]:
        problems = [f"{repo!r} {problem}" for repo in repos if (problem := _repo_problem(repo))]
        if problems:
            raise ValueError(f"expected comma-separated owner/name as GitHub allows them: {'; '.join(problems)}")
        seen: dict[str, str] = {}
        for repo in repos:
            first = seen.setdefault(repo.casefold(), repo)
            if first is not repo:
                raise ValueError(f"{repo!r} is listed twice (as {first!r}; GitHub names ignore case)")
        return repos

    @field_validator("github_api_url")
    @classmethod
    def _url_is_http(cls, url: str) -> str:
        problem = _url_problem(url)
        if problem is not None:
            raise ValueError(problem)
        return url.rstrip("/")

    @field_validator("refresh_token", mode="before")
    @classmethod
    def _refresh_token_is_not_empty(cls, token: Any) -> Any:
        if isinstance(token, str):
            if not token.strip():
                raise ValueError("set but empty, which would leave /refresh open: unset it, or give it a token")
            return token.strip()  # a header cannot carry the newline a Secret file often ends with
        return token

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _webhook_secret_is_not_empty(cls, secret: Any) -> Any:
        if isinstance(secret, str):
            if not secret.strip():
                raise ValueError("set but empty, which would accept deliveries anyone can sign: unset it, or set one")
            return secret.strip()  # the newline a Secret file often ends with is not part of GitHub's secret
        return secret

    @model_validator(mode="after")
    def _token_is_never_sent_in_clear(self) -> Settings:
        split = urllib.parse.urlsplit(self.github_api_url)
        if split.scheme == "http" and not _is_loopback(split.hostname or "") and not self.allow_insecure_http:
            raise ValueError(
                f"EXPORTER_GITHUB_API_URL={self.github_api_url!r}: plain http:// to a host that is not loopback "
                "would send the GitHub token in clear text; use https://, or set EXPORTER_ALLOW_INSECURE_HTTP=true"
            )
        return self

    @field_validator("github_app_installation_org")
    @classmethod
    def _org_is_an_owner(cls, org: str | None) -> str | None:
        if org is not None and not _OWNER.match(org):
            raise ValueError("expected an organisation name: 1-39 letters, digits or single inner hyphens")
        return org

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> Settings:
        problem = _app_problem(self)
        if problem is not None:
            raise ValueError(problem)
        return self

    @property
    def uses_github_app(self) -> bool:
        """True when the exporter authenticates as a GitHub App installation (EXPORTER_GITHUB_APP_ID)."""
        return self.github_app_id is not None

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, level: str) -> str:
        if level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("expected DEBUG, INFO, WARNING or ERROR")
        return level.upper()

    @field_validator("datadog_api_url")
    @classmethod
    def _datadog_url_is_http(cls, url: str | None) -> str | None:
        if url is None:
            return None
        problem = _url_problem(url)
        if (
            problem is None
            and urllib.parse.urlsplit(url).scheme == "http"
            and not _is_loopback(urllib.parse.urlsplit(url).hostname or "")
        ):
            problem = "plain http:// to a host that is not loopback would send the Datadog keys in clear text"
        if problem is not None:
            raise ValueError(problem)
        return url.rstrip("/")

    @property
    def required_jobs(self) -> frozenset[str]:
        """Required CI job names, case-folded."""
        return frozenset(name.casefold() for name in self.ci_required_jobs)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Parse settings from `env` (default: the process environment); errors name variable and value."""
        source = dict(os.environ if env is None else env)
        known = {field.alias for field in cls.model_fields.values() if field.alias}
        values: dict[str, Any] = {key: value for key, value in source.items() if key in known}
        for name, value in overrides.items():
            values[cls.model_fields[name].alias or name] = value
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise SettingsError(_describe(exc, values)) from None


_APP_KEY_VARIABLES = (
    "EXPORTER_GITHUB_APP_PRIVATE_KEY",
    "EXPORTER_GITHUB_APP_PRIVATE_KEY_FILE",
    "EXPORTER_GITHUB_APP_PRIVATE_KEY_SECRET_ID",
)


def _app_problem(settings: Settings) -> str | None:
    """Why the GitHub App settings cannot be used together (never showing a secret), or None."""
    keys = [
        name
        for name, value in zip(
            _APP_KEY_VARIABLES,
            (
                settings.github_app_private_key,
                settings.github_app_private_key_file,
                settings.github_app_private_key_secret_id,
            ),
            strict=True,
        )
        if value is not None
    ]
    installation = [
        name
        for name, value in (
            ("EXPORTER_GITHUB_APP_INSTALLATION_ID", settings.github_app_installation_id),
            ("EXPORTER_GITHUB_APP_INSTALLATION_ORG", settings.github_app_installation_org),
        )
        if value is not None
    ]
    if settings.github_app_id is None:
        if keys or installation:
            return f"{', '.join(keys + installation)} set without EXPORTER_GITHUB_APP_ID: set the App's id too"
        return None
    app = f"EXPORTER_GITHUB_APP_ID={settings.github_app_id}"
    if settings.github_token is not None:
        return (
            f"both GITHUB_TOKEN and a GitHub App ({app}) are set: the exporter uses one of them; "
            "unset GITHUB_TOKEN to use the App, or EXPORTER_GITHUB_APP_ID to use the token"
        )
    if len(keys) != 1:
        which = " and ".join(keys) if keys else "none of them"
        return f"{app} needs its private key from exactly one of {', '.join(_APP_KEY_VARIABLES)} ({which} set)"
    if len(installation) != 1:
        which = " and ".join(installation) if installation else "neither"
        return (
            f"{app} needs exactly one of EXPORTER_GITHUB_APP_INSTALLATION_ID or "
            f"EXPORTER_GITHUB_APP_INSTALLATION_ORG ({which} set)"
        )
    return None


def _owner(entry: str, value: Any) -> RepoOwner:
    """An `org:NAME` / `user:NAME` entry of EXPORTER_REPOS (whose whole value is `value`), or ValueError."""
    kind, _, name = entry.partition(":")
    if kind.strip().lower() not in ("org", "user"):
        raise ValueError(f"EXPORTER_REPOS={value!r}: {entry!r} is not owner/name, org:NAME or user:NAME")
    if not _OWNER.match(name.strip()):
        raise ValueError(
            f"EXPORTER_REPOS={value!r}: {entry!r} names an account that is not 1-39 letters, digits or "
            "single inner hyphens"
        )
    return RepoOwner("org" if kind.strip().lower() == "org" else "user", name.strip())


def _repo_problem(repo: str) -> str | None:
    """Why `repo` is not an owner/name GitHub could have, or None."""
    owner, slash, name = repo.partition("/")
    if not slash:
        return "has no '/'"
    if not _OWNER.match(owner):
        return "has an owner that is not 1-39 letters, digits or single inner hyphens"
    if not _NAME.match(name):
        return "has a name that is not 1-100 letters, digits, '.', '-' or '_'"
    if name in (".", "..") or name.lower().endswith(".git"):
        return "has a name GitHub reserves ('.', '..' or ending in '.git')"
    return None


def _url_problem(url: str) -> str | None:
    """Why `url` cannot be GitHub's API base URL, or None."""
    split = urllib.parse.urlsplit(url)
    if split.scheme not in ("http", "https"):
        return "expected an http:// or https:// URL"
    if any(char.isspace() for char in url):
        return "the URL contains a space"
    if split.username is not None or split.password is not None:
        return "credentials do not belong in the URL (the token is GITHUB_TOKEN)"
    host = split.hostname or ""
    if not host or not (_is_ip(host) or _HOST.match(host)):
        return "the URL has no valid host"
    try:
        port = split.port
    except ValueError:
        return "the port is not a number from 1 to 65535"
    if port == 0:
        return "the port is not a number from 1 to 65535"
    if split.query or split.fragment or url.endswith(("?", "#")):
        return "the URL must have no query or fragment"
    return None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost: a request that never leaves the machine."""
    if host.rstrip(".").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _describe(exc: ValidationError, values: Mapping[str, Any]) -> str:
    problems = []
    for error in exc.errors():
        if not error["loc"]:  # a check across variables: its message names them and their values
            problems.append(str(error["msg"]).removeprefix("Value error, "))
            continue
        variable = str(error["loc"][0])
        value = values.get(variable)
        secret = "TOKEN" in variable or variable.endswith(("PRIVATE_KEY", "_SECRET"))
        shown = "<hidden>" if secret and value else repr(_without_credentials(value))
        problems.append(f"{variable}={shown}: {error['msg']}")
    return "invalid configuration: " + "; ".join(problems)


def configuration_error(variable: str, value: str, problem: str) -> SettingsError:
    """A `SettingsError` worded as `from_env` words them, for checks made after parsing (e.g. metric keys)."""
    return SettingsError(f"invalid configuration: {variable}={value!r}: {problem}")


def _without_credentials(value: Any) -> Any:
    """A URL's user and password replaced, so that an error message never shows them."""
    if isinstance(value, str) and "@" in value and "://" in value:
        scheme, _, rest = value.partition("://")
        netloc, slash, path = rest.partition("/")
        if "@" in netloc:
            return f"{scheme}://<hidden>@{netloc.rpartition('@')[2]}{slash}{path}"
    return value
