"""system-health-exporter: engineering system health from GitHub, as Prometheus metrics for the Datadog agent."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("system-health-exporter")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
