"""`python -m bench.org_scale` (issue 14's harness) stays sound: run in a child process, as people run it.

The harness judges the exporter by comparing served values with its own reading of the fake's model,
so that reading is checked here: on an organisation small enough for a full read every interval, it
must agree with the exporter on every value (every kind of data is asked for every refresh), and values
made stale on purpose must be flagged wrong.
No figure about time is asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.processes import clean_env

ROOT = Path(__file__).resolve().parent.parent
PLANTED = 5  # one value of each of the five metrics the harness checks


def run_quick(tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], list[dict[str, object]]]:
    out = tmp_path / "org_scale.json"
    args = ["--quick", "--repos", "30", "--intervals", "3", "--self-check", str(PLANTED), "--json", str(out)]
    args += ["--env", "EXPORTER_SLOW_DATA_SECONDS=0"]  # every kind read every interval: a full read's values
    finished = subprocess.run(
        [sys.executable, "-m", "bench.org_scale", *args],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    return finished, json.loads(out.read_text())


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
