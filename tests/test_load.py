"""Many clients at once against a real exporter process while a slow refresh runs."""

from __future__ import annotations

import asyncio

import httpx

from exporter.demo import FakeGitHub
from tests.conftest import repo, run
from tests.processes import exporter_env, serving


async def scrape_all(url: str, clients: int) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        return await asyncio.gather(*(client.get(f"{url}/metrics") for _ in range(clients)))


def test_two_hundred_concurrent_scrapes_during_a_slow_refresh_all_answer_and_cause_one_refresh(
    fake: FakeGitHub,
) -> None:
    fake.add_repo(repo(runs=[run(1)]))
    fake.latency_seconds = 1.0  # each GitHub answer is slow: the refresh outlives the scrape wait
    env = exporter_env(
        EXPORTER_GITHUB_API_URL=fake.url,
        GITHUB_TOKEN="t",
        EXPORTER_REPOS="octo/app",
        EXPORTER_SCRAPE_WAIT_SECONDS="0.5",
    )
    with serving([], env) as url:
        answers = asyncio.run(scrape_all(url, 200))
        statuses = {answer.status_code for answer in answers}
        with_values = sum("\nci_tests_passing_on_main{" in answer.text for answer in answers)
        joined = httpx.post(f"{url}/refresh", timeout=30)  # joins the running refresh, waits for it
        after = httpx.get(f"{url}/metrics", timeout=30).text
    assert statuses == {200}
    assert joined.status_code == 200
    assert with_values < 200, "the scrape wait is shorter than the refresh: early answers serve the empty cache"
    assert fake.count("/actions/workflows/checks.yml/runs") == 1
    assert fake.count("/commits") == 1
    assert "\nci_tests_passing_on_main{" in after
