"""Sharding: each repository has one owner among N shards, stable across processes and rescaling."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections import Counter

import httpx
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from exporter.demo import FakeGitHub
from exporter.github.credentials import TokenProvider
from exporter.github.source import GitHubSource
from exporter.metrics.registry import default_registry
from exporter.refresh import Refresher
from exporter.settings import Settings, SettingsError
from exporter.sharding import Shard, owned, owner_of, sharded
from tests.conftest import NOW, Wiring, commit, repo, run, settings_for
from tests.processes import clean_env, serving

SIXTY = [f"octo-org/service-{index:02d}" for index in range(60)]
THOUSAND = [f"big-org/repo-{index:04d}" for index in range(1000)]


def repo_labels(exposition: str) -> set[str]:
    """Every value of a `repo` label in an exposition."""
    return {
        sample.labels["repo"]
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if "repo" in sample.labels
    }


def sample_value(exposition: str, name: str, **labels: str) -> float | None:
    """The value of the sample `name{labels}`, or None when the exposition has none."""
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return None


# --- the hash -----------------------------------------------------------------------------


def test_three_shards_split_sixty_repositories_into_disjoint_sets_whose_union_is_all_sixty() -> None:
    parts = [set(owned(SIXTY, index, 3)) for index in range(3)]
    assert sum(len(part) for part in parts) == 60
    assert set().union(*parts) == set(SIXTY)
    assert all(part for part in parts)


def test_going_from_three_to_four_shards_moves_at_most_twenty_of_sixty_and_only_onto_the_new_shard() -> None:
    moved = [name for name in SIXTY if owner_of(name, 3) != owner_of(name, 4)]
    assert 0 < len(moved) <= 20
    assert {owner_of(name, 4) for name in moved} == {3}


def test_going_from_three_to_four_shards_moves_about_a_quarter_of_a_thousand_repositories() -> None:
    moved = sum(1 for name in THOUSAND if owner_of(name, 3) != owner_of(name, 4))
    assert 200 <= moved <= 300


def test_four_shards_share_a_thousand_repositories_roughly_evenly() -> None:
    counts = Counter(owner_of(name, 4) for name in THOUSAND)
    assert sorted(counts) == [0, 1, 2, 3]
    assert all(200 <= count <= 300 for count in counts.values())


def test_the_owner_ignores_case_as_github_names_do() -> None:
    assert [owner_of(name.upper(), 7) for name in SIXTY] == [owner_of(name, 7) for name in SIXTY]


def test_every_process_computes_the_same_owners_whatever_its_hash_seed() -> None:
    script = (
        "from exporter.sharding import owner_of\nprint([owner_of(f'octo-org/service-{i:02d}', 5) for i in range(60)])"
    )
    answers = {
        subprocess.run(
            [sys.executable, "-c", script],
            env=clean_env(PYTHONHASHSEED=seed),
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert answers == {str([owner_of(name, 5) for name in SIXTY])}


def test_one_shard_owns_everything() -> None:
    assert owned(SIXTY, 0, 1) == tuple(SIXTY)


@pytest.mark.parametrize("index,count", [(3, 3), (-1, 2), (0, 0)])
def test_a_shard_index_outside_the_count_is_refused(index: int, count: int) -> None:
    with pytest.raises(ValueError):
        Shard(index, count)


def test_a_sharded_repository_set_asks_its_source_again_at_each_call() -> None:
    source = ["octo-org/service-00"]
    repos = sharded(lambda: list(source), Shard(owner_of("octo-org/service-01", 2), 2))
    source.append("octo-org/service-01")
    assert "octo-org/service-01" in repos()


# --- settings -----------------------------------------------------------------------------


def test_a_shard_index_not_below_the_shard_count_stops_the_start_naming_both_variables() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"EXPORTER_SHARDS": "3", "EXPORTER_SHARD_INDEX": "3"})
    assert "EXPORTER_SHARD_INDEX=3" in str(raised.value) and "EXPORTER_SHARDS=3" in str(raised.value)


@pytest.mark.parametrize("variable,value", [("EXPORTER_SHARDS", "0"), ("EXPORTER_SHARD_INDEX", "one")])
def test_a_bad_shard_setting_stops_the_start_naming_the_variable_and_value(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"{variable}='{value}'"):
        Settings.from_env({variable: value})


# --- the refresh and the exposition -------------------------------------------------------


def _add(fake: FakeGitHub, names: list[str]) -> None:
    for number, name in enumerate(names):
        fake.add_repo(repo(name, runs=[run(number + 1)], commits=[commit(number + 1, "hotfix: x")]))


def test_a_shard_refreshes_and_serves_only_its_own_repositories(fake: FakeGitHub, wire: Wiring) -> None:
    names = SIXTY[:12]
    _add(fake, names)
    mine = owned(names, 1, 3)
    exporter = wire(EXPORTER_REPOS=",".join(names), EXPORTER_SHARDS="3", EXPORTER_SHARD_INDEX="1")
    exposition = generate_latest(exporter.registry).decode()
    assert repo_labels(exposition) == set(mine)
    assert {request.path.split("/")[3] for request in fake.requests} == {name.split("/")[1] for name in mine}
    assert sample_value(exposition, "system_health_exporter_shard_info", shard="1", shards="3") == 1.0
    assert sample_value(exposition, "system_health_exporter_shard_repositories", shard="1") == len(mine)


def test_the_refresher_asks_its_repository_set_afresh_at_every_refresh(fake: FakeGitHub) -> None:
    names = SIXTY[:3]
    _add(fake, names)
    current = [names[0]]
    settings = settings_for(fake, EXPORTER_REPOS=",".join(names))
    source = GitHubSource(settings, TokenProvider(settings))
    refresher = Refresher(settings, default_registry(), source, clock=lambda: NOW, repos=lambda: list(current))
    assert refresher().repos == (names[0],)
    current[:] = names[1:]
    second = refresher()
    assert second.repos == tuple(names[1:])
    assert {series.repo for series in second.series} == set(names[1:])


def test_an_unsharded_exporter_says_it_is_shard_0_of_1_and_owns_every_repository(
    fake: FakeGitHub, wire: Wiring
) -> None:
    names = SIXTY[:3]
    _add(fake, names)
    exposition = generate_latest(wire(EXPORTER_REPOS=",".join(names)).registry).decode()
    assert repo_labels(exposition) == set(names)
    assert sample_value(exposition, "system_health_exporter_shard_info", shard="0", shards="1") == 1.0
    assert sample_value(exposition, "system_health_exporter_shard_repositories", shard="0") == 3.0


def test_a_shard_that_owns_no_repository_refreshes_nothing_and_says_it_owns_none(
    fake: FakeGitHub, wire: Wiring
) -> None:
    name = SIXTY[0]
    _add(fake, [name])
    other = (owner_of(name, 2) + 1) % 2
    exporter = wire(EXPORTER_REPOS=name, EXPORTER_SHARDS="2", EXPORTER_SHARD_INDEX=str(other))
    result = exporter.refresher()
    assert (result.series, result.repos, fake.requests) == ((), (), [])
    exposition = generate_latest(exporter.registry).decode()
    assert sample_value(exposition, "system_health_exporter_shard_repositories", shard=str(other)) == 0.0
    assert repo_labels(exposition) == set()


# --- real processes -----------------------------------------------------------------------


def test_three_exporter_processes_serve_disjoint_shards_whose_union_is_all_sixty_repositories(
    fake: FakeGitHub,
) -> None:
    _add(fake, SIXTY)
    fake.valid_tokens = {f"shard-{index}-token" for index in range(3)}  # each shard its own token
    expositions: dict[int, str] = {}
    with contextlib.ExitStack() as stack:
        urls = {
            index: stack.enter_context(
                serving(
                    [],
                    clean_env(
                        EXPORTER_GITHUB_API_URL=fake.url,
                        GITHUB_TOKEN=f"shard-{index}-token",
                        EXPORTER_REPOS=",".join(SIXTY),
                        EXPORTER_SHARDS="3",
                        EXPORTER_SHARD_INDEX=str(index),
                        EXPORTER_SCRAPE_WAIT_SECONDS="60",
                        EXPORTER_GITHUB_RETRIES="0",
                        EXPORTER_LOG_LEVEL="WARNING",
                    ),
                )
            )
            for index in range(3)
        }
        for index, url in urls.items():
            expositions[index] = httpx.get(f"{url}/metrics", timeout=90).text
    served = {index: repo_labels(text) for index, text in expositions.items()}
    assert served[0].isdisjoint(served[1]) and served[0].isdisjoint(served[2]) and served[1].isdisjoint(served[2])
    assert served[0] | served[1] | served[2] == set(SIXTY)
    for index, text in expositions.items():
        assert sample_value(text, "system_health_exporter_shard_info", shard=str(index), shards="3") == 1.0
        assert sample_value(text, "system_health_exporter_shard_repositories", shard=str(index)) == len(served[index])
    # GitHub saw each repository's requests only from the shard that owns it, with that shard's token.
    tokens_by_repo: dict[str, set[str]] = {}
    for request in fake.requests:
        owner, name = request.path.split("/")[2:4]
        tokens_by_repo.setdefault(f"{owner}/{name}", set()).add(request.headers["authorization"].split()[-1])
    assert tokens_by_repo == {name: {f"shard-{owner_of(name, 3)}-token"} for name in SIXTY}
