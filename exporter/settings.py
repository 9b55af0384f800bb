"""Typed settings, parsed once from the environment (or any mapping)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)

from exporter.metrics.goals import GoalOverride, parse_overrides

_REPO = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")


class SettingsError(ValueError):
    """A configuration variable has a value the exporter cannot use."""


def _comma_list(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


def _empty_is_none(value: Any) -> Any:
    return None if value == "" else value


CommaList = Annotated[tuple[str, ...], BeforeValidator(_comma_list)]
OptionalStr = Annotated[str | None, BeforeValidator(_empty_is_none)]
OptionalSecret = Annotated[SecretStr | None, BeforeValidator(_empty_is_none)]
GoalOverrides = Annotated[
    tuple[GoalOverride, ...], BeforeValidator(lambda v: parse_overrides(v) if isinstance(v, str) else v)
]


class Settings(BaseModel):
    """Everything the exporter can be told, by environment variable name."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    repos: CommaList = Field(("Metta-AI/metta",), alias="EXPORTER_REPOS", min_length=1)
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
    refresh_deadline_seconds: float = Field(120.0, alias="EXPORTER_REFRESH_DEADLINE_SECONDS", gt=0, le=3600)
    cache_ttl_seconds: float = Field(300.0, alias="EXPORTER_CACHE_TTL_SECONDS", ge=0)
    scrape_wait_seconds: float = Field(5.0, alias="EXPORTER_SCRAPE_WAIT_SECONDS", ge=0, le=60)
    max_staleness_seconds: float = Field(3600.0, alias="EXPORTER_MAX_STALENESS_SECONDS", gt=0)
    host: str = Field("127.0.0.1", alias="EXPORTER_HOST", min_length=1)
    port: int = Field(9877, alias="EXPORTER_PORT", ge=1, le=65535)
    log_level: str = Field("INFO", alias="EXPORTER_LOG_LEVEL")
    refresh_token: OptionalSecret = Field(None, alias="EXPORTER_REFRESH_TOKEN")
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

    # Goals and switches (exporter/metrics/goals.py); keys are checked by MetricRegistry.configured at start.
    goals: GoalOverrides = Field((), alias="EXPORTER_GOALS")
    metrics_disabled: CommaList = Field((), alias="EXPORTER_METRICS_DISABLED")

    @field_validator("repos")
    @classmethod
    def _repos_are_owner_slash_name(cls, repos: tuple[str, ...]) -> tuple[str, ...]:
        bad = [repo for repo in repos if not _REPO.match(repo)]
        if bad:
            raise ValueError(f"expected comma-separated owner/name, got {', '.join(bad)}")
        if len(set(repos)) != len(repos):
            raise ValueError("a repository is listed twice")
        return repos

    @field_validator("github_api_url")
    @classmethod
    def _url_is_http(cls, url: str) -> str:
        if not re.match(r"^https?://[^/\s]+", url):
            raise ValueError("expected an http:// or https:// URL")
        return url.rstrip("/")

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, level: str) -> str:
        if level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("expected DEBUG, INFO, WARNING or ERROR")
        return level.upper()

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


def _describe(exc: ValidationError, values: Mapping[str, Any]) -> str:
    problems = []
    for error in exc.errors():
        variable = str(error["loc"][0]) if error["loc"] else "?"
        shown = "<hidden>" if "TOKEN" in variable else repr(values.get(variable))
        problems.append(f"{variable}={shown}: {error['msg']}")
    return "invalid configuration: " + "; ".join(problems)


def configuration_error(variable: str, value: str, problem: str) -> SettingsError:
    """A `SettingsError` worded as `from_env` words them, for checks made after parsing (e.g. metric keys)."""
    return SettingsError(f"invalid configuration: {variable}={value!r}: {problem}")
