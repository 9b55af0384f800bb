"""A fake GitHub REST API on loopback, for tests and `python -m exporter serve --demo` (stdlib only)."""

from exporter.fakegithub.demo import demo_github
from exporter.fakegithub.faults import Fault
from exporter.fakegithub.model import FakeCommit, FakeJob, FakeRepo, FakeRun
from exporter.fakegithub.server import FakeGitHub, RecordedRequest

__all__ = [
    "FakeCommit",
    "FakeGitHub",
    "FakeJob",
    "FakeRepo",
    "FakeRun",
    "Fault",
    "RecordedRequest",
    "demo_github",
]
