"""Bad input to a real exporter process: clear 4xx answers, no internals, service unaffected."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from exporter.demo import FakeGitHub
from tests.conftest import repo, run
from tests.processes import exporter_env, serving

INTERNALS = (b"Traceback", b'File "/', b"exporter/", b"site-packages")


@pytest.fixture
def exporter_url(fake: FakeGitHub) -> Iterator[str]:
    fake.add_repo(repo(runs=[run(1)]))
    env = exporter_env(EXPORTER_GITHUB_API_URL=fake.url, GITHUB_TOKEN="t", EXPORTER_REPOS="octo/app")
    with serving([], env) as url:
        yield url


def raw_request(url: str, data: bytes, read_timeout: float = 10.0) -> bytes:
    """Send bytes as they are and read the answer until the server closes."""
    address = urlsplit(url)
    with socket.create_connection((address.hostname, address.port), timeout=read_timeout) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def assert_clean_4xx(answer: bytes, status: int) -> None:
    assert answer.startswith(f"HTTP/1.1 {status} ".encode()), answer[:200]
    assert not any(marker in answer for marker in INTERNALS), answer[:500]


def assert_still_serving(url: str) -> None:
    response = httpx.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200 and "ci_tests_passing_on_main{" in response.text


def test_an_unknown_path_is_404_without_internals(exporter_url: str) -> None:
    assert_clean_4xx(raw_request(exporter_url, b"GET /admin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), 404)
    assert_still_serving(exporter_url)


def test_a_wrong_method_is_405(exporter_url: str) -> None:
    answer = raw_request(exporter_url, b"DELETE /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert_clean_4xx(answer, 405)
    assert_still_serving(exporter_url)


def test_a_huge_query_string_is_414(exporter_url: str) -> None:
    answer = raw_request(
        exporter_url, b"GET /metrics?" + b"q" * 8000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert_clean_4xx(answer, 414)
    assert_still_serving(exporter_url)


def test_big_headers_are_431(exporter_url: str) -> None:
    headers = b"".join(b"X-Pad-%d: %s\r\n" % (n, b"a" * 1000) for n in range(20))
    answer = raw_request(exporter_url, b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + headers + b"Connection: close\r\n\r\n")
    assert_clean_4xx(answer, 431)
    assert_still_serving(exporter_url)


def test_one_huge_header_is_431(exporter_url: str) -> None:
    answer = raw_request(exporter_url, b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n")
    assert_clean_4xx(answer, 431)
    assert_still_serving(exporter_url)


@pytest.mark.parametrize(
    "request_line",
    [b"GET /\xff\xfe HTTP/1.1", b"GET /metrics?x=\xff HTTP/1.1", b"GARBAGE"],
)
def test_non_utf8_and_malformed_requests_are_400(exporter_url: str, request_line: bytes) -> None:
    answer = raw_request(exporter_url, request_line + b"\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert_clean_4xx(answer, 400)
    assert_still_serving(exporter_url)


def test_a_slow_client_holding_a_half_sent_request_does_not_block_others(exporter_url: str) -> None:
    address = urlsplit(exporter_url)
    slow = [socket.create_connection((address.hostname, address.port), timeout=10) for _ in range(20)]
    try:
        for sock in slow:
            sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # never finished
        assert_still_serving(exporter_url)
        assert httpx.get(f"{exporter_url}/healthz", timeout=10).status_code == 200
    finally:
        for sock in slow:
            sock.close()
