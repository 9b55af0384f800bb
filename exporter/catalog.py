"""Every metric family the exporter exposes: the registry's gauges, their goal scores and its own health metrics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from exporter.metrics.registry import MetricRegistry, default_registry

Kind = Literal["gauge", "counter", "info"]
PREFIX = "system_health_exporter"


@dataclass(frozen=True)
class CatalogEntry:
    """One exposed family: `name` as prometheus_client names the family (no `_total`/`_info`)."""

    name: str
    kind: Kind
    description: str
    labels: tuple[str, ...] = ()
    datadog_name: str | None = None  # for a family neither in the registry nor named system_health_exporter_*


INFO = CatalogEntry(PREFIX, "info", "Exporter build and deployment.", ("version", "service", "env"))
METRIC_SUCCESS = CatalogEntry(
    f"{PREFIX}_metric_success",
    "gauge",
    "1 if the last refresh computed this metric for this repository, 0 if it failed.",
    ("repo", "metric"),
)
METRIC_LAST_SUCCESS = CatalogEntry(
    f"{PREFIX}_metric_last_success_timestamp_seconds",
    "gauge",
    "Unix time of the last refresh that computed this metric for this repository.",
    ("repo", "metric"),
)
METRIC_VALUE_AGE = CatalogEntry(
    f"{PREFIX}_metric_value_age_seconds",
    "gauge",
    "Age of the value served for this series: 0 right after a successful refresh, growing while refreshes fail.",
    ("repo", "metric"),
)
REFRESH_ERRORS = CatalogEntry(
    f"{PREFIX}_refresh_errors",
    "counter",
    "Failed metric computations, by repository, metric and reason.",
    ("repo", "metric", "reason"),
)
REFRESHES = CatalogEntry(f"{PREFIX}_refreshes", "counter", "Refreshes completed since start.")
REFRESH_DURATION = CatalogEntry(f"{PREFIX}_refresh_duration_seconds", "gauge", "Wall time the last refresh took.")
REPO_REFRESH_DURATION = CatalogEntry(
    f"{PREFIX}_repo_refresh_duration_seconds",
    "gauge",
    "Wall time the last refresh spent on this repository.",
    ("repo",),
)
LAST_REFRESH = CatalogEntry(f"{PREFIX}_last_refresh_timestamp_seconds", "gauge", "Unix time the last refresh finished.")
RATE_LIMIT_LIMIT = CatalogEntry(
    f"{PREFIX}_github_rate_limit_limit",
    "gauge",
    "Requests an hour GitHub allows the token (x-ratelimit-limit), as last reported.",
)
RATE_LIMIT_REMAINING = CatalogEntry(
    f"{PREFIX}_github_rate_limit_remaining",
    "gauge",
    "Requests left before the reset (x-ratelimit-remaining), as last reported; under "
    "EXPORTER_RATE_LIMIT_RESERVE, refreshes wait for the reset.",
)
RATE_LIMIT_RESET = CatalogEntry(
    f"{PREFIX}_github_rate_limit_reset_timestamp_seconds",
    "gauge",
    "Unix time GitHub's rate-limit window resets (x-ratelimit-reset), as last reported.",
)
SECRET_READ_ERRORS = CatalogEntry(
    f"{PREFIX}_secret_read_errors",
    "counter",
    "Failed reads of the GitHub token's AWS Secrets Manager secret, by reason: access_denied, not_found, "
    "throttled, connection, timeout, invalid_secret, other (no series with GITHUB_TOKEN).",
    ("reason",),
)
SHARD = CatalogEntry(
    f"{PREFIX}_shard",
    "info",
    "Which shard this exporter is (EXPORTER_SHARD_INDEX) of how many (EXPORTER_SHARDS); shard 0 of 1 unsharded.",
    ("shard", "shards"),
)
SHARD_REPOSITORIES = CatalogEntry(
    f"{PREFIX}_shard_repositories",
    "gauge",
    "Repositories this shard owned in the last refresh (its share of EXPORTER_REPOS); none before the first.",
    ("shard",),
)
DISCOVERED_REPOSITORIES = CatalogEntry(
    f"{PREFIX}_discovered_repositories",
    "gauge",
    "Repositories of an EXPORTER_REPOS account (org:NAME or user:NAME) that pass the discovery filters, in its "
    'last good listing; no sample before the first. Example: ..._discovered_repositories{source="org:Metta-AI"} 42',
    ("source",),
)
LAST_DISCOVERY = CatalogEntry(
    f"{PREFIX}_last_discovery_timestamp_seconds",
    "gauge",
    "Unix time of the last good listing of an EXPORTER_REPOS account; no sample before the first.",
    ("source",),
)
DISCOVERY_ERRORS = CatalogEntry(
    f"{PREFIX}_discovery_errors",
    "counter",
    "Failed listings of an EXPORTER_REPOS account since start, by reason (the refresh errors' reasons); the "
    "last good list is kept meanwhile.",
    ("source", "reason"),
)
REPOSITORIES_CUT = CatalogEntry(
    f"{PREFIX}_repositories_cut",
    "gauge",
    "Discovered repositories EXPORTER_MAX_REPOS left out of the last refresh (0: none).",
)
WEBHOOK_DELIVERIES = CatalogEntry(
    f"{PREFIX}_webhook_deliveries",
    "counter",
    "GitHub webhook deliveries to POST /webhook since start, by event (push, workflow_run, pull_request, deployment, "
    "deployment_status, release, ping, other) and outcome (accepted, ignored, bad_signature, unsigned, too_large, "
    'replayed, malformed). Example: ..._webhook_deliveries_total{event="push",outcome="accepted"} 3',
    ("event", "outcome"),
)

DATA_AGE = CatalogEntry(
    f"{PREFIX}_data_age_seconds",
    "gauge",
    "At the last refresh's end, how long ago the least recently confirmed repository's data of each kind (ci, "
    "commits, pulls, deployments) was read or confirmed unchanged; compare with _data_bound_seconds. "
    'Example: ..._data_age_seconds{kind="pulls"} 2710',
    ("kind",),
)
DATA_BOUND = CatalogEntry(
    f"{PREFIX}_data_bound_seconds",
    "gauge",
    "The freshness each kind of data is kept within: one refresh (EXPORTER_CACHE_TTL_SECONDS) for commits, and "
    "for ci while every repository's CI is probed each refresh; past that, for ci, its own sweep's period and a "
    "refresh (a push, a cron's fire or a red branch still shows within one refresh); EXPORTER_SLOW_DATA_SECONDS "
    'for pulls and deployments. Example: ..._data_bound_seconds{kind="commits"} 840',
    ("kind",),
)
GITHUB_PACED_REQUESTS = CatalogEntry(
    f"{PREFIX}_github_paced_requests",
    "counter",
    "GitHub requests since start that waited for their turn (EXPORTER_GITHUB_POINTS_PER_MINUTE) or a slot "
    "(EXPORTER_GITHUB_MAX_IN_FLIGHT) before going out.",
)
GITHUB_PACING_WAIT = CatalogEntry(
    f"{PREFIX}_github_pacing_wait_seconds",
    "counter",
    "Seconds GitHub requests spent waiting for their turn or a slot since start, in all.",
)
GITHUB_IN_FLIGHT_PEAK = CatalogEntry(
    f"{PREFIX}_github_requests_in_flight_peak",
    "gauge",
    "The most GitHub requests in flight at once since start (at most EXPORTER_GITHUB_MAX_IN_FLIGHT).",
)

GOAL_MET = CatalogEntry(
    "system_health_goal_met",
    "gauge",
    "1 when this series meets its metric's goal, 0 when it misses it; no sample for a metric without a goal, "
    'a failed metric or no data. Example: system_health_goal_met{metric="commits.hotfix",repo="o/r",branch="main"} 1',
    ("metric", "repo", "branch"),
    "system_health.goal_met",
)
SCORE = CatalogEntry(
    "system_health_score",
    "gauge",
    "Health score of this series against its metric's goal, in [0, 1]: 1 when met, falling linearly to 0 at the "
    "goal's tolerance past the target; no sample without a goal, a value or a successful refresh.",
    ("metric", "repo", "branch"),
    "system_health.score",
)
SCORE_OVERALL = CatalogEntry(
    "system_health_score_overall",
    "gauge",
    "Mean of system_health_score over this repository's scored series; no sample when none is scored.",
    ("repo", "branch"),
    "system_health.score_overall",
)
SCORE_METRICS: tuple[CatalogEntry, ...] = (GOAL_MET, SCORE, SCORE_OVERALL)

SELF_METRICS: tuple[CatalogEntry, ...] = (
    INFO,
    METRIC_SUCCESS,
    METRIC_LAST_SUCCESS,
    METRIC_VALUE_AGE,
    REFRESH_ERRORS,
    REFRESHES,
    REFRESH_DURATION,
    REPO_REFRESH_DURATION,
    LAST_REFRESH,
    RATE_LIMIT_LIMIT,
    RATE_LIMIT_REMAINING,
    RATE_LIMIT_RESET,
    SECRET_READ_ERRORS,
    SHARD,
    SHARD_REPOSITORIES,
    DISCOVERED_REPOSITORIES,
    LAST_DISCOVERY,
    DISCOVERY_ERRORS,
    REPOSITORIES_CUT,
    WEBHOOK_DELIVERIES,
    DATA_AGE,
    DATA_BOUND,
    GITHUB_PACED_REQUESTS,
    GITHUB_PACING_WAIT,
    GITHUB_IN_FLIGHT_PEAK,
)


def catalog(registry: MetricRegistry | None = None) -> list[CatalogEntry]:
    """The registry's metrics (default: the shipped ones), then the exporter's own."""
    metrics = registry if registry is not None else default_registry()
    own = [CatalogEntry(spec.name, "gauge", spec.description, spec.labels) for spec in metrics]
    return own + list(SCORE_METRICS) + list(SELF_METRICS)
