"""The HTTP seam under PyGithub: every answer is read with a bound on its decoded size."""

from __future__ import annotations

import json

from exporter.demo import FakeGitHub, Fault
from exporter.github.credentials import TokenProvider
from exporter.github.source import GitHubSource
from exporter.metrics.registry import default_registry
from exporter.refresh import Refresher, RefreshResult
from tests.conftest import NOW, REPO, commit, repo, run, settings_for
from tests.helpers import series
from tests.processes import exporter_env, run_measured

CAP = 64 * 1024
MiB = 1024 * 1024


def refresh(fake: FakeGitHub, **env: str) -> RefreshResult:
    settings = settings_for(fake, EXPORTER_GITHUB_RETRIES="0", **env)
    source = GitHubSource(settings, TokenProvider(settings))
    return Refresher(settings, default_registry().configured(settings), source, clock=lambda: NOW)()


def test_an_answer_of_exactly_the_cap_is_read_and_one_byte_more_fails_too_large(fake: FakeGitHub) -> None:
    fake.add_repo(repo(runs=[run(1)], commits=[commit(1, "hotfix: login")]))
    fake.inject(Fault(kind="huge_body", path_regex="/commits$", body_bytes=CAP, times=1))
    read = refresh(fake, EXPORTER_MAX_ANSWER_BYTES=str(CAP))
    assert series(read, "commits.hotfix", REPO).value == 1.0

    fake.inject(Fault(kind="huge_body", path_regex="/commits$", body_bytes=CAP + 1, times=1))
    refused = refresh(fake, EXPORTER_MAX_ANSWER_BYTES=str(CAP))
    failed = series(refused, "commits.hotfix", REPO)
    assert (failed.value, failed.reason) == (None, "too_large")
    assert f"passed {CAP} bytes (EXPORTER_MAX_ANSWER_BYTES)" in (failed.error or "")
    assert series(refused, "ci.tests_passing_on_main", REPO).value == 1.0


def test_the_cap_counts_decoded_bytes_so_a_small_gzip_body_that_expands_past_it_fails(fake: FakeGitHub) -> None:
    fake.add_repo(repo(runs=[run(1)], commits=[commit(1, "hotfix: login")]))
    fake.inject(Fault(kind="gzip_bomb", path_regex="/commits$", body_bytes=4 * MiB))  # about 4 KiB on the wire
    result = refresh(fake, EXPORTER_MAX_ANSWER_BYTES=str(CAP))
    assert series(result, "commits.hotfix", REPO).reason == "too_large"
    fake.clear_faults()
    assert series(refresh(fake, EXPORTER_MAX_ANSWER_BYTES=str(CAP)), "commits.hotfix", REPO).value == 1.0


def test_a_refresh_facing_a_gzip_bomb_and_a_huge_list_stays_within_its_memory_budget(fake: FakeGitHub) -> None:
    """A real `exporter report` process; its peak RSS (wait4) stays far below what either bomb decodes to."""
    fake.add_repo(repo(runs=[run(1)], commits=[commit(1, "hotfix: login")]))
    fake.inject(Fault(kind="gzip_bomb", path_regex="/commits$", body_bytes=256 * MiB))
    fake.inject(Fault(kind="huge_body", path_regex="/runs$", body_bytes=200 * MiB))
    env = exporter_env(
        EXPORTER_GITHUB_API_URL=fake.url,
        GITHUB_TOKEN="t",
        EXPORTER_REPOS=REPO,
        EXPORTER_GITHUB_RETRIES="0",
        EXPORTER_MAX_ANSWER_BYTES=str(1 * MiB),
    )
    done = run_measured("exporter", ["report", "--json"], env, timeout=120)
    assert done.returncode == 1, done.stderr
    metrics = json.loads(done.stdout)["repositories"][REPO]["metrics"]
    assert {key: entry["error"]["reason"] for key, entry in metrics.items() if "error" in entry} == {
        "ci.tests_passing_on_main": "too_large",
        "commits.hotfix": "too_large",
        "commits.reverts": "too_large",
    }
    assert done.peak_rss_kib < 160 * 1024, f"peak RSS {done.peak_rss_kib / 1024:.0f} MiB"
