"""POST /webhook: a verified delivery marks its repository changed; anything else is refused and changes nothing."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import httpx
import pytest

from exporter.changes import EVENT_KINDS
from exporter.demo import FakeGitHub
from tests.clocked import Clock, ClockedExporter, Scrape
from tests.conftest import NOW, REPO, commit, repo, run
from tests.processes import exporter_env, serving_process

SECRET = "It's a Secret to Everybody"
DELIVERIES = "system_health_exporter_webhook_deliveries_total"
ENV = {"EXPORTER_WEBHOOK_SECRET": SECRET, "EXPORTER_WEBHOOK_MAX_BYTES": "4096", "EXPORTER_CACHE_TTL_SECONDS": "300"}
_ids = itertools.count(1)


def push(full_name: str = REPO) -> bytes:
    """A push payload as GitHub sends it, in part (only repository.full_name is read)."""
    return json.dumps({"ref": "refs/heads/main", "after": "f" * 40, "repository": {"full_name": full_name}}).encode()


def signature(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def headers(body: bytes, event: str = "push", delivery: str | None = None, signed: str | None = None) -> dict[str, str]:
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or f"72d3162e-cc78-11e3-81ab-{next(_ids):012d}",
        "X-Hub-Signature-256": signature(body) if signed is None else signed,
        "Content-Type": "application/json",
    }


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def exporter(fake: FakeGitHub, clock: Clock) -> Iterator[ClockedExporter]:
    fake.add_repo(repo(runs=[run(1)], commits=[commit(1, "hotfix: a")]))
    built = ClockedExporter(fake, clock, **ENV)
    try:
        yield built
    finally:
        built.close()


def post(exporter: ClockedExporter, body: bytes | AsyncIterator[bytes], head: dict[str, str]) -> httpx.Response:
    """POST /webhook through the app, in process."""

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=exporter.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://exporter") as client:
            return await client.post("/webhook", content=body, headers=head)

    return asyncio.run(send())


def hotfixes(scrape: Scrape) -> float | None:
    return scrape.value("commits_hotfix", repo=REPO, branch="main")


def warmed(exporter: ClockedExporter, fake: FakeGitHub) -> None:
    """A first refresh, then a change on GitHub that a scrape inside the TTL does not see."""
    assert hotfixes(exporter.scrape()) == 1.0
    fake.repo(REPO).commits["main"].append(commit(2, "hotfix: b"))
    exporter.clock.advance(10)
    fake.clear_requests()


def test_a_signed_push_marks_the_repository_and_the_next_scrape_refreshes_inside_the_ttl(
    exporter: ClockedExporter, fake: FakeGitHub
) -> None:
    warmed(exporter, fake)
    assert hotfixes(exporter.scrape()) == 1.0 and fake.requests == []  # fresh: the change is not seen yet

    body = push("OCTO/App")  # GitHub names ignore case
    answer = post(exporter, body, headers(body))
    assert (answer.status_code, exporter.collector.pending_changes) == (202, {"OCTO/App": {"commits", "ci"}})
    assert fake.requests == []  # a delivery starts no work: the next scrape does
    after = exporter.scrape()
    assert len(fake.requests) > 0
    assert hotfixes(after) == 2.0
    assert exporter.collector.pending_changes == {}
    assert after.value(DELIVERIES, event="push", outcome="accepted") == 1.0
    fake.clear_requests()
    assert hotfixes(exporter.scrape()) == 2.0 and fake.requests == []  # fresh again until the TTL


@pytest.mark.parametrize(
    ("event", "body", "status", "outcome"),
    [
        ("workflow_run", push(), 202, "accepted"),
        ("pull_request", push(), 202, "accepted"),
        ("deployment_status", push(), 202, "accepted"),
        ("ping", b'{"zen": "Design for failure."}', 200, "accepted"),
        ("issues", push(), 202, "ignored"),
        ("push", push("someone/else"), 202, "ignored"),
        ("push", b'{"repository": {"full_name": 42}}', 400, "malformed"),
        ("push", b"{not json", 400, "malformed"),
    ],
)
def test_each_event_is_marked_ignored_or_refused_as_it_says(
    exporter: ClockedExporter, fake: FakeGitHub, event: str, body: bytes, status: int, outcome: str
) -> None:
    warmed(exporter, fake)
    answer = post(exporter, body, headers(body, event))
    assert answer.status_code == status
    marked = outcome == "accepted" and event != "ping"
    assert exporter.collector.pending_changes == ({REPO: EVENT_KINDS[event]} if marked else {})
    scrape = exporter.scrape()
    assert (len(fake.requests) > 0, hotfixes(scrape)) == ((True, 2.0) if marked else (False, 1.0))
    shown = event if event != "issues" else "other"  # bounded labels: an unknown event is `other`
    assert scrape.value(DELIVERIES, event=shown, outcome=outcome) == 1.0


@pytest.mark.parametrize(
    ("case", "status", "outcome"),
    [
        ("bad_signature", 401, "bad_signature"),
        ("other_secret", 401, "bad_signature"),
        ("unsigned", 401, "unsigned"),
        ("too_large", 413, "too_large"),
        ("replayed", 409, "replayed"),
    ],
)
def test_a_refused_delivery_changes_nothing(
    exporter: ClockedExporter, fake: FakeGitHub, case: str, status: int, outcome: str
) -> None:
    warmed(exporter, fake)
    body = push()
    head = headers(body)
    if case == "replayed":
        assert post(exporter, body, head).status_code == 202
        exporter.scrape()  # the first delivery's refresh
        fake.repo(REPO).commits["main"].append(commit(3, "hotfix: c"))
        fake.clear_requests()
    elif case == "bad_signature":
        head["X-Hub-Signature-256"] = signature(body + b" ")
    elif case == "other_secret":
        head["X-Hub-Signature-256"] = signature(body, "not the secret")
    elif case == "unsigned":
        del head["X-Hub-Signature-256"]
    elif case == "too_large":
        body = push() + b" " * 4096  # validly signed, over EXPORTER_WEBHOOK_MAX_BYTES
        head = headers(body)
    answer = post(exporter, body, head)
    assert answer.status_code == status
    assert exporter.collector.pending_changes == {}
    scrape = exporter.scrape()
    assert fake.requests == []  # no refresh
    assert hotfixes(scrape) == (2.0 if case == "replayed" else 1.0)
    assert scrape.value(DELIVERIES, event="push", outcome=outcome) == 1.0


def test_an_oversized_body_is_refused_without_reading_past_the_limit(exporter: ClockedExporter) -> None:
    sent: list[int] = []

    def chunks(count: int) -> AsyncIterator[bytes]:
        async def generate() -> AsyncIterator[bytes]:
            for _ in range(count):
                sent.append(1024)
                yield b" " * 1024

        return generate()

    streamed = post(exporter, chunks(64), headers(b"", signed="sha256=" + "0" * 64))  # chunked: no length
    read_while_streaming = sum(sent)
    sent.clear()
    declared = post(exporter, chunks(64), headers(b"", signed="sha256=" + "0" * 64) | {"Content-Length": "65536"})
    assert (streamed.status_code, declared.status_code) == (413, 413)
    assert read_while_streaming <= 4096 + 1024  # the limit, and the chunk that crossed it
    assert sum(sent) == 0  # a declared length over the limit: not a byte read


def test_webhooks_answer_404_until_a_secret_is_configured(fake: FakeGitHub, clock: Clock) -> None:
    fake.add_repo(repo(runs=[run(1)]))
    exporter = ClockedExporter(fake, clock)
    try:
        body = push()
        answer = post(exporter, body, headers(body))
    finally:
        exporter.close()
    assert answer.status_code == 404
    assert "EXPORTER_WEBHOOK_SECRET" in answer.json()["error"]
    assert exporter.collector.pending_changes == {}


def test_the_secret_never_appears_in_an_answer_or_a_log(
    exporter: ClockedExporter, fake: FakeGitHub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    warmed(exporter, fake)
    body = push()
    answers = [
        post(exporter, body, headers(body)),
        post(exporter, body, headers(body, signed=signature(body, "guess"))),
        post(exporter, body, headers(body, signed=SECRET)),
        post(exporter, b"x" * 5000, headers(b"x" * 5000)),
    ]
    scrape = exporter.scrape()
    seen = [a.text + str(a.headers) for a in answers] + [scrape.text, caplog.text]
    assert [a.status_code for a in answers] == [202, 401, 401, 413]
    assert not any(SECRET in text for text in seen)


def test_a_real_exporter_process_verifies_and_marks_a_delivery(fake: FakeGitHub) -> None:
    days_ago = 1 - (datetime.now(UTC) - NOW).total_seconds() / 86400  # the process reads the real clock
    fake.add_repo(repo(runs=[run(1)], commits=[commit(1, "hotfix: a", days_ago=days_ago)]))
    env = exporter_env(EXPORTER_GITHUB_API_URL=fake.url, GITHUB_TOKEN="t", EXPORTER_REPOS=REPO, **ENV)
    with serving_process([], env) as (url, process), httpx.Client(base_url=url, timeout=30) as http:
        assert 'commits_hotfix{branch="main",repo="octo/app"} 1.0' in http.get("/metrics").text
        fake.repo(REPO).commits["main"].append(commit(2, "hotfix: b", days_ago=days_ago))
        body = push()
        refused = http.post("/webhook", content=body, headers=headers(body, signed=signature(body, "guess")))
        still = http.get("/metrics").text
        accepted = http.post("/webhook", content=body, headers=headers(body))
        after = http.get("/metrics").text
        process.terminate()
        process.wait(timeout=10)  # bounded; serving_process kills it otherwise
        output = process.stdout.read() if process.stdout else ""
    assert (refused.status_code, accepted.status_code) == (401, 202)
    assert 'commits_hotfix{branch="main",repo="octo/app"} 1.0' in still  # a refused delivery changed nothing
    assert 'commits_hotfix{branch="main",repo="octo/app"} 2.0' in after
    assert f'{DELIVERIES}{{event="push",outcome="accepted"}} 1.0' in after
    assert "webhook push for octo/app" in output
    assert SECRET not in output
