"""`python -m bench.org_scale` (issue 14's harness) stays sound: run in a child process, as people run it.

The harness judges the exporter by comparing served values with its own reading of the fake's model,
so that reading is checked here: on an organisation small enough for a full read every interval, it
must agree with the exporter on every value (every kind of data is asked for every refresh), and values
made stale on purpose must be flagged wrong. Its organisation's scheduled CI must follow the crons its
workflow files declare: that is checked on the model itself, read out by a child process (tests import
nothing from bench/), against fire times computed here with croniter.
No figure about time is asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from croniter import croniter

from tests.processes import clean_env

ROOT = Path(__file__).resolve().parent.parent
PLANTED = 5  # one value of each of the five metrics the harness checks
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # where the bench's organisation's history ends
LOOKBACK = timedelta(days=7)
LATE = 600  # GitHub creates a scheduled run up to 10 minutes after its cron fires
INTERVAL = 900
REPOS, INTERVALS = 500, 16  # four hours of a 500-repository organisation: some 60 scheduled runs
# In a child process: make the bench's organisation, plan and apply its changes interval by interval (in
# time order, as its fake GitHub does), and print what GitHub would show: each repository's workflow file,
# commits on main and runs, each interval's changes, and the branch's CI state around each scheduled run.
MODEL_SCRIPT = """
import json, sys
from datetime import UTC, datetime, timedelta
from bench import organisation as o

start, count, intervals, seed = datetime.fromisoformat(sys.argv[1]), *map(int, sys.argv[2:])
repos = o.organisation(count, start, seed)
by_name = {repo.full_name: repo for repo in repos}
crons = {repo.full_name: o.cron(repo) for repo in repos}
planned, states = [], []
for index in range(intervals):
    begin = start.timestamp() + index * 900
    changes = o.plan(crons, begin, begin + 900, seed)
    assert changes == o.plan(crons, begin, begin + 900, seed)
    planned.append([[change.repo, change.kind, change.at] for change in changes])
    for change in changes:
        repo, at = by_name[change.repo], datetime.fromtimestamp(change.at, UTC)
        before = o.tests_passing(repo, at - timedelta(seconds=1))
        o.apply(repo, change, seed)
        if change.kind == "schedule":
            states.append([before, o.tests_passing(repo, at)])
print(json.dumps({
    "repos": [
        {
            "name": repo.full_name,
            "workflow": repo.workflow_text(o.WORKFLOW),
            "commits": [[c.sha, c.committer_date.timestamp()] for c in repo.commits[o.BRANCH]],
            "runs": [[r.event, r.created_at.timestamp(), r.head_sha, r.workflow_file] for r in repo.runs],
        }
        for repo in repos
    ],
    "planned": planned,
    "states": states,
}))
"""


def run_quick(tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], list[dict[str, object]]]:
    out = tmp_path / "org_scale.json"
    args = ["--quick", "--repos", "30", "--intervals", "3", "--self-check", str(PLANTED), "--json", str(out)]
    args += ["--env", "EXPORTER_SLOW_DATA_SECONDS=0"]  # every kind read every interval: a full read's values
    finished = python("-m", "bench.org_scale", *args)
    return finished, json.loads(out.read_text())


def python(*args: str) -> subprocess.CompletedProcess[str]:
    """This Python in a child process at the project's root, which must succeed within 300 s."""
    finished = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=300
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    return finished


def test_the_org_scale_bench_agrees_with_a_full_read_and_flags_every_value_made_stale_on_purpose(
    tmp_path: Path,
) -> None:
    finished, (result,) = run_quick(tmp_path)
    intervals = result["intervals"]
    assert isinstance(intervals, list) and len(intervals) == 4  # the first read, then 3 intervals
    assert sum(sum(row["changes"].values()) for row in intervals) >= 6  # 3 of 30 repositories an interval
    for row in intervals:
        assert row["scraped"]["refreshed"], row
        assert row["counted"]["secondary_refused"] == 0, row  # 30 repositories stay far below the limits
        assert row["scraped"]["failed"] == {}, row
        assert all(not wrong for wrong in row["wrong"].values()), row
    assert result["self_check"] == {"planted": PLANTED, "right_before": PLANTED, "detected": PLANTED}
    assert f"{PLANTED} detected as wrong" in finished.stdout
    assert "| interval (end) | changes | requests |" in finished.stdout


@pytest.fixture(scope="module")
def bench_model() -> dict[str, Any]:
    finished = python("-c", MODEL_SCRIPT, START.isoformat(), str(REPOS), str(INTERVALS), "14")
    model: dict[str, Any] = json.loads(finished.stdout)
    return model


def declared_cron(workflow: str) -> str | None:
    """The cron of a workflow file, read as GitHub reads it (`on` is a key, not YAML 1.1's true)."""
    document = yaml.load(workflow, Loader=yaml.BaseLoader)  # BaseLoader: every scalar a string, as GitHub
    triggers = document["on"]
    assert {"push", "pull_request"} <= set(triggers), triggers
    assert set(document["jobs"]) == {"lint", "tests"}
    schedule = triggers.get("schedule")
    if schedule is None:
        return None
    (entry,) = schedule
    expression: str = entry["cron"]
    return expression


def fires(expression: str, after: float, until: float) -> list[float]:
    found, times = [], croniter(expression, datetime.fromtimestamp(after, UTC))
    while (fire := times.get_next(float)) <= until:
        found.append(fire)
    return found


def test_scheduled_runs_are_made_at_the_crons_the_workflow_files_declare_and_only_there(
    bench_model: dict[str, Any],
) -> None:
    end = START.timestamp() + INTERVALS * INTERVAL
    shapes: Counter[str] = Counter()
    for repo in bench_model["repos"]:
        expression = declared_cron(repo["workflow"])
        scheduled = sorted((run for run in repo["runs"] if run[0] == "schedule"), key=lambda run: run[1])
        if expression is None:
            shapes["none"] += 1
            assert scheduled == [], repo["name"]
            continue
        minute, hour, *rest = expression.split()
        assert rest == ["*", "*", "*"] and 0 <= int(minute) < 60, expression
        shapes["six-hourly" if hour == "*/6" else "daily"] += 1
        assert hour == "*/6" or 0 <= int(hour) < 24, expression
        expected = fires(expression, (START - LOOKBACK).timestamp(), end)
        # One run per fire, created 0-10 minutes after it; a fire in the last 10 minutes may not have one yet.
        assert len(scheduled) in range(len([fire for fire in expected if fire <= end - LATE]), len(expected) + 1)
        for fire, (_, created, head_sha, workflow_file) in zip(expected, scheduled, strict=False):
            assert 0 <= created - fire <= LATE and created <= end, (repo["name"], fire, created)
            head = max((commit for commit in repo["commits"] if commit[1] <= created), key=lambda commit: commit[1])
            assert (head_sha, workflow_file) == (head[0], "checks.yml"), (repo["name"], created)
    assert 0.4 <= shapes["daily"] / REPOS <= 0.6 and 0.02 <= shapes["six-hourly"] / REPOS <= 0.09, shapes


def test_each_interval_one_repository_in_ten_changes_and_scheduled_runs_seldom_turn_the_ci_state_over(
    bench_model: dict[str, Any],
) -> None:
    kinds: Counter[str] = Counter()
    for changes in bench_model["planned"]:
        assert len({repo for repo, _, _ in changes}) == REPOS // 10, changes
        kinds.update(kind for _, kind, _ in changes)
    assert set(kinds) == {"push", "schedule", "rerun", "fork_pr", "redeploy"}, kinds
    states = bench_model["states"]
    assert kinds["schedule"] == len(states) >= 20, kinds
    kept = sum(1 for before, after in states if after == (1.0 if before is None else before))
    assert 0.7 <= kept / len(states) < 1.0, states
