"""The CI workflow file's crons (exporter/schedules.py): read from real workflow YAML, and stepped."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from exporter.schedules import crons_in, latest_fire

NIGHTLY = """
name: Checks
on:
  push:
    branches: [main]
  pull_request:
  schedule:
    - cron: "17 3 * * *"
    - cron: '0 */6 * * 1-5'
jobs:
  tests:
    runs-on: ubuntu-latest
    steps:
      - run: make test
"""


def at(hour: int, minute: int, second: int = 0, day: int = 27) -> float:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC).timestamp()  # a Friday


def test_the_crons_of_a_workflows_schedule_are_read_in_order() -> None:
    assert crons_in(NIGHTLY, "checks.yml") == ("17 3 * * *", "0 */6 * * 1-5")


@pytest.mark.parametrize(
    "text",
    ["on: push", "on: [push, pull_request]", "on:\n  push:\n  workflow_dispatch:\n", '"on":\n  push: {}\n'],
)
def test_a_workflow_without_a_schedule_has_no_cron(text: str) -> None:
    assert crons_in(text, "checks.yml") == ()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("on: [push\n", "o/r:checks.yml is not valid YAML"),
        ("- on: push\n", "its top level is a list, not a mapping"),
        ("name: x\njobs: {}\n", "it has no `on` key"),
        ("on: 3\n", "`on` is a int"),
        ("on:\n  schedule: '0 3 * * *'\n", "`on.schedule` is a str, not a list of `cron` entries"),
        ("on:\n  schedule:\n    - cron: '61 3 * * *'\n", "holds {'cron': '61 3 * * *'}, not a `cron` of 5 fields"),
        ("on:\n  schedule:\n    - cron: '0 0 3 * * *'\n", "not a `cron` of 5 fields"),
        ("on:\n  schedule:\n    - at: '03:00'\n", "holds {'at': '03:00'}"),
    ],
)
def test_a_file_that_is_not_a_workflow_or_a_bad_cron_is_refused_naming_the_file_and_the_problem(
    text: str, problem: str
) -> None:
    with pytest.raises(ValueError, match=r"o/r:checks\.yml") as refused:
        crons_in(text, "o/r:checks.yml")
    assert problem in str(refused.value)


def test_the_latest_fire_is_the_newest_of_any_cron_at_or_before_now() -> None:
    crons = crons_in(NIGHTLY, "checks.yml")
    assert latest_fire(crons, at(3, 16, 59)) == at(0, 0)  # the six-hourly one, at midnight
    assert latest_fire(crons, at(3, 17)) == at(3, 17)  # the nightly one, from the second it fires
    assert latest_fire(crons, at(5, 59)) == at(3, 17)
    assert latest_fire(crons, at(6, 0, 30)) == at(6, 0)
    assert latest_fire(("0 */6 * * 1-5",), at(1, 0, day=29)) == at(18, 0, day=27)  # Sunday: Friday's last
    assert latest_fire((), at(6, 0)) is None
