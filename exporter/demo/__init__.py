"""The fake GitHub REST API that `make run` (`serve --demo`) serves on loopback, shipped with the
exporter; the tests use the same server (stdlib only). `sample` holds the demo's repository."""

from exporter.demo.apps import FakeApp, FakeInstallation
from exporter.demo.faults import Fault
from exporter.demo.model import FakeCommit, FakeJob, FakeRepo, FakeRun
from exporter.demo.sample import demo_github
from exporter.demo.server import FakeGitHub, RecordedRequest

__all__ = [
    "FakeApp",
    "FakeCommit",
    "FakeGitHub",
    "FakeInstallation",
    "FakeJob",
    "FakeRepo",
    "FakeRun",
    "Fault",
    "RecordedRequest",
    "demo_github",
]
