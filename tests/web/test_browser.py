"""A person opening the exporter in a browser (Debian's headless Chromium)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile

import pytest

from tests.processes import exporter_env, serving

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def dump_dom(url: str) -> str:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is missing: run scripts/setup/browser.sh (make test does)")
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_a_browser_shows_metrics_as_text_and_the_index_as_a_page() -> None:
    with serving(["--demo"], exporter_env()) as url:
        metrics_dom = dump_dom(f"{url}/metrics")
        index_dom = dump_dom(f"{url}/")
    assert "<pre" in metrics_dom, "text/plain is shown inline as text, not downloaded"
    assert 'ci_tests_passing_on_main{branch="main",repo="Metta-AI/metta",workflow="checks.yml"}' in metrics_dom
    assert '<a href="/metrics">/metrics</a>' in index_dom
