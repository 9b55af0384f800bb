"""`exporter serve`, `report`, `catalog` and `datadog`: the only place that wires the parts together."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from exporter import __version__
from exporter.collector import HealthCollector
from exporter.errors import SourceError
from exporter.github.app_auth import AppTokenProvider
from exporter.github.credentials import Credentials, TokenProvider
from exporter.github.discovery import Discovery, RepoLister
from exporter.github.source import GitHubSource
from exporter.metrics.registry import MetricRegistry, default_registry
from exporter.refresh import Refresher, RefreshResult
from exporter.settings import Settings, SettingsError
from exporter.sharding import Shard, sharded
from exporter.tracing import init_tracing

logger = logging.getLogger("exporter")

GRACE_SECONDS = 5  # uvicorn's timeout_graceful_shutdown: requests in flight at SIGTERM, then cancelled
MAX_RETRY_BACKOFF_SECONDS = 2  # backoff_max of the GitHub source's retry policy (github/source.py)


@dataclass(frozen=True)
class Exporter:
    """The wired parts of one exporter."""

    settings: Settings
    metrics: MetricRegistry
    refresher: Refresher
    collector: HealthCollector
    registry: CollectorRegistry


def build(
    settings: Settings,
    tokens: Credentials | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    wall: Callable[[], float] = time.time,
    monotonic: Callable[[], float] = time.monotonic,
    pacing_clock: Callable[[], float] = time.monotonic,
    pacing_sleep: Callable[[float], None] | None = None,
) -> Exporter:
    """Wire settings → GitHub source → metrics → refresher → collector → registry; every part reads
    time from `clock`, `wall` and `monotonic`, the pacer from `pacing_clock` and `pacing_sleep` (None:
    it waits on the shutdown event, in real time); a benchmark in simulated time passes its own."""
    metrics = default_registry().configured(settings)
    stopping = threading.Event()  # set at shutdown: the refresh stops between repositories and pages
    source = GitHubSource(
        settings,
        tokens or credentials_for(settings),
        monotonic,
        wall=wall,
        stopping=stopping,
        pacing_clock=pacing_clock,
        pacing_sleep=pacing_sleep,
    )
    lister = RepoLister(source, monotonic=monotonic, stopping=stopping)
    discovery = Discovery(
        settings,
        lister,
        wall=wall,
        monotonic=monotonic,
        feed=lister.pushed_since,
        on_pushed=source.note_pushed,
        on_vouched=source.vouch,
    )
    repos = sharded(discovery, Shard(settings.shard_index, settings.shards))
    refresher = Refresher(
        settings,
        metrics,
        source,
        clock=clock,
        monotonic=monotonic,
        stopping=stopping,
        repos=repos,
        discovery=discovery.status,
    )
    collector = HealthCollector(
        settings,
        metrics,
        refresher,
        wall=wall,
        monotonic=monotonic,
        stopping=stopping,
        signals=source.signals,
    )
    registry = CollectorRegistry(auto_describe=True)
    registry.register(collector)
    return Exporter(settings, metrics, refresher, collector, registry)


@contextlib.contextmanager
def _demo(settings: Settings) -> Iterator[Settings]:
    """Start the embedded fake GitHub and point the settings at it."""
    from exporter.demo import demo_github

    fake = demo_github(datetime.now(UTC))
    url = fake.start()
    logger.info("demo mode: serving a sample repository from an embedded fake GitHub at %s", url)
    try:
        yield settings.model_copy(
            update={
                "github_api_url": url,
                "github_token": SecretStr("demo-token"),
                "github_app_id": None,  # the embedded fake takes the demo token, whatever the environment says
                "repos": tuple(repo.full_name for repo in fake.repos),
                "discovery_owners": (),  # the sample's repositories, not the environment's accounts
            }
        )
    finally:
        fake.stop()


def credentials_for(settings: Settings) -> Credentials:
    """A GitHub App's installation tokens when EXPORTER_GITHUB_APP_ID is set (its key read now), else the token."""
    if settings.uses_github_app:
        return AppTokenProvider.from_settings(settings)
    return TokenProvider(settings)


def _check_token(settings: Settings, tokens: Credentials) -> None:
    """Fail at start, with a clear message, when there is no token and anonymous access is not allowed."""
    if tokens.get() is None:
        logger.warning("no GitHub token: using anonymous access (60 requests an hour)")


def _github_in_flight_seconds(settings: Settings) -> float:
    """How long a GitHub request in flight may still take: each attempt within the timeout, each retry
    after a capped backoff (after SIGTERM the refresh starts no new request)."""
    retries = settings.github_retries
    return (1 + retries) * settings.github_timeout_seconds + retries * MAX_RETRY_BACKOFF_SECONDS


def shutdown_bound_seconds(settings: Settings) -> float:
    """How long `serve` may take to exit after SIGTERM: the grace given to the requests to the
    exporter in flight, plus the GitHub requests in flight (39 s with the defaults)."""
    return GRACE_SECONDS + _github_in_flight_seconds(settings)


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    init_tracing(settings)  # before the app exists, so ddtrace instruments FastAPI
    import uvicorn

    from exporter.web.app import MAX_HEADER_BYTES, create_app
    from exporter.web.server import serve

    tokens = credentials_for(settings)
    _check_token(settings, tokens)
    exporter = build(settings, tokens)
    app = create_app(settings, exporter.collector, exporter.registry)
    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    watched = [*settings.repos, *(f"{owner}'s repositories" for owner in settings.discovery_owners)]
    logger.info("serving http://%s:%d/metrics for %s", host, port, ", ".join(watched))
    if settings.shards > 1:
        owned = Shard(settings.shard_index, settings.shards).select(settings.repos)
        logger.info(
            "shard %d of %d: refreshing %d of the %d named repositories%s",
            settings.shard_index,
            settings.shards,
            len(owned),
            len(settings.repos),
            ", and its share of those discovered" if settings.discovery_owners else "",
        )
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=settings.log_level == "DEBUG",
        timeout_graceful_shutdown=GRACE_SECONDS,
        timeout_keep_alive=5,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES * 2,
    )
    try:
        # At the start of the shutdown, before uvicorn waits for the requests in flight: /refresh
        # waiters answer 503 at once and the refresh sends no new request to GitHub.
        serve(config, on_shutdown=exporter.collector.stopping.set)
    finally:
        exporter.collector.close(wait_seconds=_github_in_flight_seconds(settings))
    return 0


def _print_report(result: RefreshResult, as_json: bool) -> None:
    from exporter.web.app import refresh_report

    if as_json:
        print(json.dumps(refresh_report(result), indent=2, sort_keys=True))
        return
    for series in result.series:
        if series.value is None:
            shown = "no data"
        elif isinstance(series.value, Mapping):
            shown = ", ".join(f"{key}={number:g}" for key, number in series.value.items())
        else:
            shown = f"{series.value:g}"
        if not series.ok:
            shown = f"FAILED ({series.reason}): {series.error}"
        print(f"{series.repo:<30} {series.key:<28} {shown}")
    print(f"refresh took {result.seconds:.2f}s; {len(result.failed)} of {len(result.series)} series failed")


def _report(settings: Settings, args: argparse.Namespace) -> int:
    init_tracing(settings)
    tokens = credentials_for(settings)
    _check_token(settings, tokens)
    exporter = build(settings, tokens)
    try:
        result = exporter.refresher()
    finally:
        exporter.collector.close()
    _print_report(result, args.json)
    return 1 if result.failed else 0


def _catalog(settings: Settings, args: argparse.Namespace) -> int:
    from exporter.datadog.catalog_table import document

    print(document(default_registry().configured(settings)), end="")
    return 0


def _datadog(settings: Settings, args: argparse.Namespace) -> int:
    from exporter.datadog import commands

    return commands.run(args.datadog_command, settings, default_registry().configured(settings), args.dry_run)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="exporter", description="GitHub system-health exporter")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve /metrics over HTTP")
    serve.add_argument("--host", help="address to listen on (EXPORTER_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (EXPORTER_PORT, default 9877)")
    serve.add_argument("--demo", action="store_true", help="serve an embedded sample: no token, no network")
    report = commands.add_parser("report", help="collect once and print the values")
    report.add_argument("--json", action="store_true", help="print JSON, as /refresh answers")
    report.add_argument("--demo", action="store_true", help="use an embedded sample: no token, no network")
    commands.add_parser("catalog", help="print every metric as a Markdown table (docs/metrics.md)")
    datadog = commands.add_parser("datadog", help="the Datadog dashboard, monitors and SLOs, from the registry")
    datadog.set_defaults(dry_run=False)
    assets = datadog.add_subparsers(dest="datadog_command", required=True)
    for name, text in (("dashboard", "the dashboard"), ("monitors", "the monitors"), ("slos", "the SLOs")):
        assets.add_parser(name, help=f"print {text} as JSON the Datadog API accepts")
    push = assets.add_parser("push", help="create or update them in Datadog (DD_API_KEY, DD_APP_KEY, DD_SITE)")
    push.add_argument("--dry-run", action="store_true", help="print what would change, change nothing")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m exporter` and the `exporter` console script."""
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
    except SettingsError as exc:
        print(f"exporter: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    run = {"serve": _serve, "report": _report, "catalog": _catalog, "datadog": _datadog}[args.command]
    try:
        if getattr(args, "demo", False):
            with _demo(settings) as demo_settings:
                return run(demo_settings, args)
        return run(settings, args)
    except (SourceError, SettingsError) as exc:  # SettingsError: a metric key the registry does not know
        print(f"exporter: {exc}", file=sys.stderr)
        return 2
