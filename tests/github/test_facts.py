"""The store of facts GitHub will never change."""

from __future__ import annotations

import pytest

from exporter.github.facts import FactStore


def test_a_final_answer_is_fetched_once_and_then_served_from_the_store() -> None:
    store, calls = FactStore(), []

    def fetch() -> str:
        calls.append(1)
        return "success"

    assert store.remember(("attempt", "o/r", 1, 1), fetch, final=lambda answer: True) == "success"
    assert store.remember(("attempt", "o/r", 1, 1), fetch, final=lambda answer: True) == "success"
    assert len(calls) == 1
    assert (store.hits, store.misses) == (1, 1)


def test_an_answer_that_may_still_change_is_fetched_again_every_time() -> None:
    store, answers = FactStore(), iter(["in_progress", "success", "never asked"])
    final = lambda state: state != "in_progress"  # noqa: E731
    assert store.remember("deployment 7", lambda: next(answers), final) == "in_progress"
    assert store.remember("deployment 7", lambda: next(answers), final) == "success"
    assert store.remember("deployment 7", lambda: next(answers), final) == "success"


def test_past_its_bound_the_least_recently_used_fact_is_dropped() -> None:
    store = FactStore(max_entries=2)
    store.put("a", 1)
    store.put("b", 2)
    assert store.get("a") == 1  # "b" is now the least recently used
    store.put("c", 3)
    assert (store.get("a"), store.get("b"), store.get("c"), len(store)) == (1, None, 3, 2)


def test_none_is_never_a_fact_and_the_bound_is_at_least_one() -> None:
    with pytest.raises(ValueError, match="None"):
        FactStore().put("a", None)
    with pytest.raises(ValueError, match="at least one"):
        FactStore(max_entries=0)
