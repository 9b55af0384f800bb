"""Organisation discovery: EXPORTER_REPOS's org:/user: entries listed on the fake GitHub, filtered, bounded,
refreshed on their interval, and their repositories' series gone once they are no longer watched."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from exporter.demo import FakeGitHub, FakeRepo
from exporter.demo.faults import Fault
from exporter.github.credentials import TokenProvider
from exporter.github.discovery import Discovery, ListedRepo, RepoLister
from exporter.github.source import GitHubSource
from exporter.sharding import owned
from tests.clocked import Clock, ClockedExporter, SimulatedTime
from tests.conftest import NOW, Wiring, commit, run, settings_for

ORG = "octo-org"
INTERVAL = 3600.0
TTL = 300.0


def org_repo(name: str, owner: str = ORG, **fields: object) -> FakeRepo:
    """A repository of `owner` with one green CI run and one hotfix commit."""
    number = sum(map(ord, name))
    return FakeRepo(
        f"{owner}/{name}",
        runs=[run(number)],
        commits={"main": [commit(number, "hotfix: x")]},
        **fields,  # type: ignore[arg-type]
    )


def sixty() -> list[FakeRepo]:
    """60 repositories of which 37 pass EXCLUDE="sandbox-*,octo-org/LEGACY-*" and TOPICS="service,library"."""
    service = ["service"]
    return [
        *(org_repo(f"service-{index:02d}", topics=service) for index in range(35)),
        *(org_repo(f"library-{index}", topics=["library", "python"]) for index in range(2)),
        *(org_repo(f"archived-{index}", topics=service, archived=True) for index in range(5)),
        *(org_repo(f"fork-{index}", topics=service, fork=True) for index in range(5)),
        *(FakeRepo(f"{ORG}/empty-{index}", commits={}, topics=service) for index in range(5)),
        *(org_repo(f"sandbox-{index}", topics=service) for index in range(3)),
        *(org_repo(f"legacy-{index}", topics=service) for index in range(2)),
        *(org_repo(f"untagged-{index}") for index in range(3)),
    ]


FILTERS = {"EXPORTER_DISCOVERY_EXCLUDE": "sandbox-*,octo-org/LEGACY-*", "EXPORTER_DISCOVERY_TOPICS": "service,library"}
KEPT = sorted([f"{ORG}/service-{index:02d}" for index in range(35)] + [f"{ORG}/library-{index}" for index in range(2)])


def discovery_for(fake: FakeGitHub, clock: Clock | None = None, **env: str) -> Discovery:
    """A Discovery wired to the fake as `exporter.cli.build` wires it."""
    settings = settings_for(fake, **env)
    source = GitHubSource(settings, TokenProvider(settings))
    if clock is None:
        return Discovery(settings, RepoLister(source))
    return Discovery(settings, RepoLister(source, monotonic=clock), wall=clock, monotonic=clock)


def listings(fake: FakeGitHub, status: int | None = None, sort: str = "created") -> int:
    """Requests for an account's repository list (first pages and the pages after): the full listing
    (by creation), or with sort="pushed" the recent pushes read between full listings."""
    return sum(
        1
        for request in fake.requests
        if request.path.endswith("/repos")
        and request.query.get("sort") == sort
        and request.path.split("/")[1] in ("orgs", "users", "organizations", "user")
        and (status is None or request.status == status)
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def exporters() -> Iterator[list[ClockedExporter]]:
    made: list[ClockedExporter] = []
    try:
        yield made
    finally:
        for exporter in made:
            exporter.close()


def clocked(fake: FakeGitHub, clock: Clock, made: list[ClockedExporter], **env: str) -> ClockedExporter:
    values = {
        "EXPORTER_CACHE_TTL_SECONDS": str(TTL),
        "EXPORTER_DISCOVERY_INTERVAL_SECONDS": str(INTERVAL),
        "EXPORTER_MAX_STALENESS_SECONDS": "86400",
    }
    paced = SimulatedTime()  # up to 37 repositories' requests: the pacer's waits on simulated time
    exporter = ClockedExporter(fake, clock, pacing_clock=paced, pacing_sleep=paced.sleep, **(values | env))
    made.append(exporter)
    return exporter


def watched(exporter: ClockedExporter) -> set[str]:
    """The repositories whose hotfix series a scrape serves."""
    text = exporter.scrape().text
    return {
        line.split('repo="', 1)[1].split('"', 1)[0] for line in text.splitlines() if line.startswith("commits_hotfix{")
    }


# --- what is discovered --------------------------------------------------------------------


def test_an_organisation_of_sixty_leaves_out_archived_forks_empty_excluded_and_untagged_repositories(
    fake: FakeGitHub,
) -> None:
    for repo in sixty():
        fake.add_repo(repo)
    fake.add_repo(org_repo("elsewhere", owner="other-org", topics=["service"]))
    discovery = discovery_for(fake, EXPORTER_REPOS=f"acme/tools,org:{ORG},{ORG}/Service-00", **FILTERS)
    assert discovery() == ("acme/tools", f"{ORG}/Service-00", *[name for name in KEPT if name != f"{ORG}/service-00"])
    assert listings(fake) == 1


def test_archived_forks_and_empty_repositories_are_discovered_when_asked_for(fake: FakeGitHub) -> None:
    for repo in sixty():
        fake.add_repo(repo)
    discovery = discovery_for(
        fake,
        EXPORTER_REPOS=f"org:{ORG}",
        EXPORTER_DISCOVERY_INCLUDE="*-0,*-00",
        EXPORTER_DISCOVERY_INCLUDE_ARCHIVED="true",
        EXPORTER_DISCOVERY_INCLUDE_FORKS="true",
        EXPORTER_DISCOVERY_INCLUDE_EMPTY="true",
    )
    names = ["archived-0", "empty-0", "fork-0", "legacy-0", "library-0", "sandbox-0", "service-00", "untagged-0"]
    assert discovery() == tuple(f"{ORG}/{name}" for name in names)


def test_an_organisation_is_read_page_by_page_until_a_short_page(fake: FakeGitHub) -> None:
    for index in range(150):
        fake.add_repo(org_repo(f"repo-{index:03d}"))
    assert len(discovery_for(fake, EXPORTER_REPOS=f"org:{ORG}")()) == 150
    assert [request.path for request in fake.requests] == [f"/orgs/{ORG}/repos"] * 2
    query = {"type": "all", "sort": "created", "direction": "asc", "per_page": "100"}
    assert [request.query for request in fake.requests] == [query | {"page": "1"}, query | {"page": "2"}]


def test_a_repository_that_opens_a_new_last_page_is_found_though_the_full_page_before_it_answers_304(
    fake: FakeGitHub, clock: Clock
) -> None:
    for index in range(100):
        fake.add_repo(org_repo(f"repo-{index:03d}"))
    discovery = discovery_for(fake, clock, EXPORTER_REPOS=f"org:{ORG}")
    assert len(discovery()) == 100
    newest = org_repo("repo-new")
    newest.created_at = NOW
    fake.add_repo(newest)
    clock.advance(INTERVAL)
    fake.clear_requests()
    assert f"{ORG}/repo-new" in discovery()
    assert [request.status for request in fake.requests] == [304, 200]


def test_a_users_repositories_are_listed_with_the_users_endpoint(fake: FakeGitHub) -> None:
    fake.add_repo(org_repo("dotfiles", owner="octocat", owner_type="User"))
    fake.add_repo(org_repo("not-theirs", owner="someone", owner_type="User"))
    assert discovery_for(fake, EXPORTER_REPOS="user:octocat")() == ("octocat/dotfiles",)
    assert fake.requests[0].path == "/users/octocat/repos" and fake.requests[0].query["type"] == "owner"


def test_a_user_named_as_an_organisation_fails_the_listing_as_not_found(
    fake: FakeGitHub, clock: Clock, exporters: list[ClockedExporter]
) -> None:
    fake.add_repo(org_repo("dotfiles", owner="octocat", owner_type="User"))
    exporter = clocked(fake, clock, exporters, EXPORTER_REPOS="org:octocat")
    scrape = exporter.scrape()
    errors = "system_health_exporter_discovery_errors_total"
    assert scrape.value(errors, source="org:octocat", reason="not_found") == 1.0
    assert scrape.value("system_health_exporter_discovered_repositories", source="org:octocat") is None


def test_a_listing_github_answers_with_nulls_fails_as_a_bad_response_before_it_is_read(
    fake: FakeGitHub, clock: Clock, exporters: list[ClockedExporter]
) -> None:
    fake.add_repo(org_repo("api"))
    fake.inject(Fault("nulls", r"^/orgs/"))
    exporter = clocked(fake, clock, exporters, EXPORTER_REPOS=f"org:{ORG}")
    scrape = exporter.scrape()
    errors = "system_health_exporter_discovery_errors_total"
    assert scrape.value(errors, source=f"org:{ORG}", reason="bad_response") == 1.0
    assert watched(exporter) == set()


# --- refreshed on its interval --------------------------------------------------------------


def test_discovery_lists_again_only_once_its_interval_has_passed_and_then_costs_no_point_when_unchanged(
    fake: FakeGitHub, clock: Clock, exporters: list[ClockedExporter]
) -> None:
    for name in ("api", "web"):
        fake.add_repo(org_repo(name))
    exporter = clocked(fake, clock, exporters, EXPORTER_REPOS=f"org:{ORG}")
    assert watched(exporter) == {f"{ORG}/api", f"{ORG}/web"}
    for _ in range(int(INTERVAL // TTL) - 1):  # refreshes inside the interval only read the recent pushes
        clock.advance(TTL)
        exporter.scrape()
    assert (listings(fake), exporter.collector.snapshot.refreshes) == (1, INTERVAL // TTL)
    assert listings(fake, sort="pushed") == INTERVAL // TTL - 1  # a page each: no repository pushed since
    clock.advance(TTL)
    fake.clear_requests()
    exporter.scrape()
    assert (listings(fake), listings(fake, status=304)) == (1, 1)
    assert {request.status for request in fake.requests} == {304}  # nothing changed: no point spent


def test_a_new_repository_is_watched_after_the_next_discovery_without_a_restart(
    fake: FakeGitHub, clock: Clock, exporters: list[ClockedExporter]
) -> None:
    fake.add_repo(org_repo("api"))
    exporter = clocked(fake, clock, exporters, EXPORTER_REPOS=f"org:{ORG}")
    assert watched(exporter) == {f"{ORG}/api"}
    fake.add_repo(org_repo("new"))
    clock.advance(TTL)
    assert watched(exporter) == {f"{ORG}/api"}  # inside the interval: not listed yet
    clock.advance(INTERVAL)
    assert watched(exporter) == {f"{ORG}/api", f"{ORG}/new"}
    scrape = exporter.scrape()
    assert scrape.value("system_health_exporter_discovered_repositories", source=f"org:{ORG}") == 2.0
    assert scrape.value("system_health_exporter_last_discovery_timestamp_seconds", source=f"org:{ORG}") == clock.now


def test_a_repository_archived_or_removed_loses_every_series_at_the_next_discovery(
    fake: FakeGitHub, clock: Clock, exporters: list[ClockedExporter]
) -> None:
    for name in ("api", "old", "gone"):
        fake.add_repo(org_repo(name))
    exporter = clocked(fake, clock, exporters, EXPORTER_REPOS=f"org:{ORG}")
    assert watched(exporter) == {f"{ORG}/api", f"{ORG}/old", f"{ORG}/gone"}
    fake.repo(f"{ORG}/old").archived = True
    fake.repos.remove(fake.repo(f"{ORG}/gone"))
    clock.advance(TTL)
    exporter.scrape()  # inside the interval: "gone" fails (404) and keeps its values, as any failure
    clock.advance(INTERVAL)
    text = exporter.scrape().text
    assert f"{ORG}/api" in text
    assert f"{ORG}/old" not in text and f"{ORG}/gone" not in text  # no value, no success flag, no error counter


# --- failures and bounds ----------------------------------------------------------------------


def test_a_listing_that_fails_keeps_the_last_list_counts_the_failure_and_is_tried_again_next_refresh(
    fake: FakeGitHub, clock: Clock, exporters: list[ClockedExporter]
) -> None:
    for name in ("api", "web"):
        fake.add_repo(org_repo(name))
    exporter = clocked(fake, clock, exporters, EXPORTER_REPOS=f"org:{ORG}", EXPORTER_GITHUB_RETRIES="0")
    first = exporter.scrape()
    listed_at = first.value("system_health_exporter_last_discovery_timestamp_seconds", source=f"org:{ORG}")
    fake.inject(Fault("status", r"^/orgs/", status=502))
    clock.advance(INTERVAL)
    assert watched(exporter) == {f"{ORG}/api", f"{ORG}/web"}
    clock.advance(TTL)
    scrape = exporter.scrape()
    errors = "system_health_exporter_discovery_errors_total"
    assert scrape.value(errors, source=f"org:{ORG}", reason="server_error") == 2.0  # tried at each refresh
    assert scrape.value("system_health_exporter_last_discovery_timestamp_seconds", source=f"org:{ORG}") == listed_at
    assert scrape.value("system_health_exporter_discovered_repositories", source=f"org:{ORG}") == 2.0
    fake.clear_faults()
    clock.advance(TTL)
    recovered = exporter.scrape()
    assert recovered.value("system_health_exporter_last_discovery_timestamp_seconds", source=f"org:{ORG}") == clock.now


def test_with_no_list_yet_a_failed_listing_leaves_the_named_repositories_and_is_tried_at_the_next_refresh(
    fake: FakeGitHub, clock: Clock, exporters: list[ClockedExporter]
) -> None:
    fake.add_repo(org_repo("api"))
    fake.add_repo(org_repo("tools", owner="acme"))
    fault = fake.inject(Fault("status", r"^/orgs/", status=500, times=1))
    exporter = clocked(fake, clock, exporters, EXPORTER_REPOS=f"acme/tools,org:{ORG}", EXPORTER_GITHUB_RETRIES="0")
    assert watched(exporter) == {"acme/tools"}
    assert fault.used == 1
    clock.advance(TTL)
    assert watched(exporter) == {"acme/tools", f"{ORG}/api"}
    assert listings(fake) == 2


def test_max_repos_keeps_the_named_repositories_and_cuts_the_last_discovered_by_name_with_a_warning_and_a_metric(
    fake: FakeGitHub, clock: Clock, exporters: list[ClockedExporter], caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("a", "b", "c", "d", "e"):
        fake.add_repo(org_repo(name))
    fake.add_repo(org_repo("z", owner="acme"))
    exporter = clocked(fake, clock, exporters, EXPORTER_REPOS=f"acme/z,org:{ORG}", EXPORTER_MAX_REPOS="3")
    with caplog.at_level(logging.WARNING, logger="exporter.github.discovery"):
        assert watched(exporter) == {"acme/z", f"{ORG}/a", f"{ORG}/b"}
    assert "EXPORTER_MAX_REPOS=3: 3 of the 6 repositories found are left out" in caplog.text
    assert f"{ORG}/c, {ORG}/d, {ORG}/e" in caplog.text
    assert exporter.scrape().value("system_health_exporter_repositories_cut") == 3.0


def test_without_accounts_the_named_repositories_are_watched_in_their_order_and_nothing_is_cut(
    fake: FakeGitHub,
) -> None:
    assert discovery_for(fake, EXPORTER_REPOS="o/zeta,o/alpha,O/Zeta2")() == ("o/zeta", "o/alpha", "O/Zeta2")
    assert fake.requests == []


# --- sharding -----------------------------------------------------------------------------


def test_shards_split_the_discovered_repositories_between_them_by_hash(fake: FakeGitHub, wire: Wiring) -> None:
    names = [f"service-{index:02d}" for index in range(12)]
    for name in names:
        fake.add_repo(org_repo(name))
    everyone = [f"{ORG}/{name}" for name in names]
    shares = []
    for index in range(3):
        exporter = wire(EXPORTER_REPOS=f"org:{ORG}", EXPORTER_SHARDS="3", EXPORTER_SHARD_INDEX=str(index))
        shares.append(exporter.refresher().repos)
        assert shares[-1] == owned(everyone, index, 3)
    assert sorted(name for share in shares for name in share) == everyone
    assert all(shares)


def test_a_push_landing_while_a_listing_is_paged_is_asked_for_by_the_next_feed(fake: FakeGitHub) -> None:
    """The listing starts at 1,000 s; `early`'s page is read before its push at 1,003 s, `late`'s after its
    push at 1,005 s. The next feed must ask from before 1,003 s, or `early`'s push is never seen."""
    settings = settings_for(fake, EXPORTER_REPOS=f"org:{ORG}")
    asked: list[float] = []

    def lister(owner: object, deadline: float) -> list[ListedRepo]:
        return [ListedRepo(f"{ORG}/early", pushed_at=900.0), ListedRepo(f"{ORG}/late", pushed_at=1005.0)]

    def feed(owner: object, since: float, deadline: float) -> list[ListedRepo]:
        asked.append(since)
        return [ListedRepo(f"{ORG}/early", pushed_at=1003.0)] if since <= 1003.0 else []

    pushed: dict[str, float] = {}
    wall = Clock(datetime.fromtimestamp(1000.0, UTC))
    discovery = Discovery(settings, lister, wall=wall, monotonic=wall, feed=feed, on_pushed=pushed.__setitem__)
    discovery()
    wall.advance(900)
    discovery()
    assert asked and asked[0] <= 1003.0
    assert pushed[f"{ORG}/early"] == 1003.0
