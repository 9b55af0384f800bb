"""The status page as a person sees it: a real exporter process, Debian's Chromium driven by Playwright.

Every page records console errors, uncaught exceptions and Content-Security-Policy violations, and
each test ends by asserting there were none. Time in the page is Playwright's clock (no sleeps):
the exporter's own values are as old as they really are, the page's ages move when the test says.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Locator, Page, Playwright, expect, sync_playwright

from exporter.demo import FakeCommit, FakeGitHub, Fault
from tests.conftest import repo, run
from tests.processes import exporter_env, serving

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / ".artifacts" / "status-page"
WAIT_MS = 15_000  # every expect() is bounded by this
# Hostile text where the exporter lets outside text through: the CI workflow's file name (a label,
# and the not-found error naming it) and the workflow names GitHub lists (in that error's message).
HOSTILE = """<script>window.__pwned=1</script>"'</td><img src=x onerror="window.__pwned=2">.yml"""
WIDE = "x" * 300  # a word no screen is wide enough for
expect.set_options(timeout=WAIT_MS)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is missing: run scripts/setup/browser.sh (make test does)")
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
    try:
        yield launched
    finally:
        launched.close()


@dataclass
class Watched:
    """A page, and what went wrong in it: console errors, uncaught exceptions, CSP violations, dialogs."""

    page: Page
    problems: list[str] = field(default_factory=list)

    def csp_violations(self) -> list[str]:
        return list(self.page.evaluate("window.__cspViolations || []"))

    def assert_clean(self) -> None:
        assert self.problems == []
        assert self.csp_violations() == []


# Runs before the page's own code, outside its CSP (Playwright injects it through the DevTools protocol).
_RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


OpenPage = Callable[..., contextlib.AbstractContextManager[Watched]]


@pytest.fixture
def open_page(browser: Browser) -> Iterator[OpenPage]:
    """Opens pages in new browser contexts (keyword arguments: `Browser.new_context`'s), all closed after the test."""
    contexts = []

    @contextlib.contextmanager
    def opened(**options: Any) -> Iterator[Watched]:
        context = browser.new_context(**options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        watched = Watched(page)

        def on_console(message: ConsoleMessage) -> None:
            if message.type in ("error", "warning"):
                watched.problems.append(f"console {message.type}: {message.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: watched.problems.append(f"uncaught: {error}"))
        page.on("dialog", lambda dialog: (watched.problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
        page.add_init_script(_RECORD_VIOLATIONS)
        yield watched

    try:
        yield opened
    finally:
        for context in contexts:
            context.close()


def against(fake: FakeGitHub, repos: str, **env: str) -> dict[str, str]:
    """An exporter's environment pointing at the fake."""
    return exporter_env(EXPORTER_GITHUB_API_URL=fake.url, GITHUB_TOKEN="test-token", EXPORTER_REPOS=repos, **env)


def recent_commit(n: int, message: str) -> FakeCommit:
    """A commit on main an hour ago by the wall clock (the exporter process runs on it)."""
    return FakeCommit(f"{n:040x}", message, datetime.now(UTC) - timedelta(hours=1))


def metric_row(page: Page, repo: str, key: str) -> Locator:
    return page.locator(f'section[data-repo="{repo.lower()}"] tr.metric', has=page.locator(".key", has_text=key))


def test_the_demo_page_shows_the_demo_values_with_no_console_error_or_csp_violation_in_light_and_dark(
    open_page: OpenPage,
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with serving(["--demo"], exporter_env(EXPORTER_METRICS_DISABLED="")) as url:  # every metric, as `make run`
        for scheme in ("light", "dark"):
            with open_page(viewport={"width": 1000, "height": 700}, color_scheme=scheme) as watched:
                page = watched.page
                page.goto(f"{url}/")
                exposition = httpx.get(f"{url}/metrics", timeout=10).text  # the same refresh: the cache is fresh
                hotfix = re.search(r'^commits_hotfix\{branch="main",repo="Metta-AI/metta"\} (\S+)$', exposition, re.M)
                passing = re.search(r"^ci_tests_passing_on_main\{[^}]*\} (\S+)$", exposition, re.M)
                assert hotfix is not None and passing is not None
                hotfixes = float(hotfix[1])
                shown = f"{hotfixes:g} commit" + ("" if hotfixes == 1 else "s")
                row = metric_row(page, "Metta-AI/metta", "commits.hotfix")
                expect(row.locator('td[data-label="Value"]')).to_have_text(shown)
                expect(row.locator('td[data-label="Goal"]')).to_have_text("≤ 4 commits")
                ci = metric_row(page, "Metta-AI/metta", "ci.tests_passing_on_main")
                green = "yes" if float(passing[1]) == 1 else "no"
                expect(ci.locator('td[data-label="Value"]')).to_have_text(green)
                expect(page.locator("#rate-limit")).to_contain_text("requests left")
                expect(page.locator("#refresh")).to_be_visible()
                background = page.evaluate("getComputedStyle(document.body).backgroundColor")
                assert background == ("rgb(255, 255, 255)" if scheme == "light" else "rgb(16, 20, 24)")
                page.screenshot(path=str(ARTIFACTS / f"demo-{scheme}.png"))
                watched.assert_clean()
    print(f"screenshots: {ARTIFACTS}")


def test_refresh_now_updates_values_and_ages_without_reloading_the_page(open_page: OpenPage, fake: FakeGitHub) -> None:
    fake.add_repo(repo("octo/app", runs=[run(1)], commits=[recent_commit(1, "init")]))
    with serving([], against(fake, "octo/app", EXPORTER_REFRESH_MIN_INTERVAL_SECONDS="0")) as url:
        with open_page() as watched:
            page = watched.page
            page.clock.install()
            page.goto(f"{url}/")
            hotfix = metric_row(page, "octo/app", "commits.hotfix")
            expect(hotfix.locator('td[data-label="Value"]')).to_have_text("0 commits")
            page.clock.fast_forward("02:00")  # the page's clock: its ages tick
            expect(hotfix.locator(".age")).to_have_text("2 min ago")
            page.evaluate("window.__sameDocument = true")
            fake.repo("octo/app").commits["main"].append(recent_commit(2, "hotfix: the login page"))

            page.click("#refresh")

            expect(page.locator("#message")).to_contain_text("Refreshed")
            expect(hotfix.locator('td[data-label="Value"]')).to_have_text("1 commit")
            expect(hotfix.locator(".age")).to_have_text(re.compile(r"^[0-9] s ago$"))
            assert page.evaluate("window.__sameDocument") is True, "the page was reloaded"
            expect(page.locator("#refresh")).to_have_text("Refresh now")
            rendered_by_script = page.locator("tr.metric td:not([data-label=Age])").all_inner_texts()
            watched.assert_clean()
        with open_page() as fresh:
            fresh.page.goto(f"{url}/")
            rendered_by_server = fresh.page.locator("tr.metric td:not([data-label=Age])").all_inner_texts()
    assert rendered_by_script == rendered_by_server, "the script renders rows as the server does"


def test_a_page_made_while_a_refresh_runs_says_so_and_shows_its_result_when_it_ends(
    open_page: OpenPage, fake: FakeGitHub
) -> None:
    fake.add_repo(repo("octo/app", runs=[run(1)], commits=[recent_commit(1, "hotfix: a")]))
    fake.inject(Fault("hang", path_regex=r"/commits$", times=1))  # unanswered: timed out after 1 s, then retried
    env = against(fake, "octo/app", EXPORTER_SCRAPE_WAIT_SECONDS="0", EXPORTER_GITHUB_TIMEOUT_SECONDS="1")
    with serving([], env) as url, open_page() as watched:
        page = watched.page
        page.goto(f"{url}/")
        expect(page.locator("#message")).to_have_text("A refresh is running.")
        hotfix = metric_row(page, "octo/app", "commits.hotfix")
        expect(hotfix.locator('td[data-label="State"]')).to_have_text("… not computed yet")
        page.evaluate("window.__sameDocument = true")
        expect(hotfix.locator('td[data-label="Value"]')).to_have_text("1 commit")
        expect(page.locator("#message")).to_contain_text("✓ Refreshed")
        assert page.evaluate("window.__sameDocument") is True, "the page was reloaded"
        watched.assert_clean()


def test_a_failing_repository_shows_its_error_in_plain_words_and_comes_first(
    open_page: OpenPage, fake: FakeGitHub
) -> None:
    fake.add_repo(repo("octo/app", runs=[run(1)]))
    fake.add_repo(repo("octo/zz-broken", runs=[run(1)]))
    fake.inject(Fault("status", path_regex=r"^/repos/octo/zz-broken/", status=502))
    env = against(fake, "octo/app,octo/zz-broken", EXPORTER_GITHUB_RETRIES="0")
    with serving([], env) as url, open_page() as watched:
        page = watched.page
        page.goto(f"{url}/")
        first = page.locator("section.repo").first
        expect(first.locator(".name")).to_have_text("octo/zz-broken")
        expect(first.locator(".verdict")).to_have_text(re.compile(r"^⚠ failing: 3 of 3 metrics failed"))
        expect(first.locator("tr.metric.failed")).to_have_count(3)
        expect(first.locator("tr.error").first).to_contain_text("GitHub had a server error: GitHub answered 502")
        expect(first.locator('tr.metric td[data-label="State"]').first).to_have_text("⚠ failed")
        healthy = page.locator('section[data-repo="octo/app"]')
        expect(healthy.locator("tr.error")).to_have_count(0)
        expect(page.locator("#summary")).to_have_text("2 repositories · 1 failing · branch main")

        page.fill("#filter", "APP")
        expect(page.locator('section[data-repo="octo/zz-broken"]')).to_be_hidden()
        expect(healthy).to_be_visible()
        watched.assert_clean()


def test_a_second_refresh_within_the_cooldown_says_how_many_seconds_to_wait(
    open_page: OpenPage, fake: FakeGitHub
) -> None:
    fake.add_repo(repo("octo/app", runs=[run(1)]))
    env = against(fake, "octo/app", EXPORTER_REFRESH_MIN_INTERVAL_SECONDS="3600")
    with serving([], env) as url, open_page() as watched:
        page = watched.page
        page.goto(f"{url}/")
        page.click("#refresh")
        expect(page.locator("#message")).to_contain_text("Refreshed")
        page.click("#refresh")
        expect(page.locator("#message")).to_have_text(
            re.compile(r"^⏳ Refreshed moments ago: wait (3600|3599) s before refreshing again\.$")
        )
        # The browser logs the 429 answer itself as a failed resource load; the page handled it.
        watched.problems = [p for p in watched.problems if "status of 429" not in p]
        watched.assert_clean()


def test_with_a_refresh_token_a_wrong_token_is_refused_and_the_right_one_refreshes(
    open_page: OpenPage, fake: FakeGitHub
) -> None:
    fake.add_repo(repo("octo/app", runs=[run(1)]))
    env = against(fake, "octo/app", EXPORTER_REFRESH_TOKEN="s3cret-token", EXPORTER_REFRESH_MIN_INTERVAL_SECONDS="0")
    with serving([], env) as url, open_page() as watched:
        page = watched.page
        page.goto(f"{url}/")
        refreshes = page.evaluate("fetch('/status.json').then(r => r.json()).then(p => p.refreshes)")
        page.fill("#token", "wrong")
        page.click("#refresh")
        expect(page.locator("#message")).to_have_text(
            "✗ Refused: the refresh token is missing or wrong. Enter the token (EXPORTER_REFRESH_TOKEN)."
        )
        expect(page.locator("#token")).to_be_focused()
        page.fill("#token", "s3cret-token")
        page.click("#refresh")
        expect(page.locator("#message")).to_contain_text("✓ Refreshed")
        after = page.evaluate("fetch('/status.json').then(r => r.json()).then(p => p.refreshes)")
        assert after == refreshes + 1
        stored = page.evaluate("JSON.stringify([document.cookie, {...localStorage}, {...sessionStorage}])")
        assert "s3cret" not in stored and "s3cret" not in page.content()
        watched.problems = [p for p in watched.problems if "status of 401" not in p]
        watched.assert_clean()


def test_on_a_375_px_screen_nothing_scrolls_sideways_even_with_long_errors(
    open_page: OpenPage, fake: FakeGitHub
) -> None:
    broken = repo("octo/app", runs=[run(1)])
    broken.workflows = [f"{WIDE}.yml"]
    fake.add_repo(broken)
    env = against(fake, "octo/app", EXPORTER_CI_WORKFLOW=f"{WIDE}-ci.yml")
    phone = {"viewport": {"width": 375, "height": 800}, "is_mobile": True, "has_touch": True}
    with serving([], env) as url, open_page(**phone) as watched:
        page = watched.page
        page.goto(f"{url}/")
        expect(page.locator("tr.error")).to_contain_text(WIDE)
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        assert page.evaluate("document.body.scrollWidth") <= 375
        page.screenshot(path=str(ARTIFACTS / "phone-with-errors.png"), full_page=True)
        watched.assert_clean()


def test_hostile_workflow_names_and_error_messages_are_shown_as_text(open_page: OpenPage, fake: FakeGitHub) -> None:
    hostile = repo("octo/app", runs=[run(1)])
    hostile.workflows = [HOSTILE, "checks.yml"]
    fake.add_repo(hostile)
    env = against(fake, "octo/app", EXPORTER_CI_WORKFLOW=HOSTILE, EXPORTER_REFRESH_MIN_INTERVAL_SECONDS="0")
    with serving([], env) as url, open_page() as watched:
        page = watched.page
        page.goto(f"{url}/")
        shows_hostile_text_as_text(page, "rendered by the server")
        page.click("#refresh")
        expect(page.locator("#message")).to_contain_text("Refreshed")
        shows_hostile_text_as_text(page, "rendered by the script")
        watched.assert_clean()


def shows_hostile_text_as_text(page: Page, rendered_by: str) -> None:
    ci = metric_row(page, "octo/app", "ci.tests_passing_on_main")
    expect(ci.locator(".labels")).to_have_text(f"workflow {HOSTILE}")
    expect(page.locator("tr.error")).to_contain_text(f"workflow {HOSTILE} (EXPORTER_CI_WORKFLOW) not found")
    assert page.locator("img").count() == 0, rendered_by
    assert page.evaluate("document.scripts.length") == 1, rendered_by
    assert page.evaluate("window.__pwned") is None, rendered_by
    assert page.locator("tr.error td").count() == 1, rendered_by  # no cell was closed early
