"""A small program the tracing tests run in a child process: `python -m tests.tracing.program MODE`.

`decorated` calls @trace-decorated functions with tracing set up from the environment; `off` wires
the whole exporter with tracing off and runs a refresh. Each prints what it saw as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from typing import Any

from exporter.tracing import init_tracing, trace


@trace(name="work.inner")
def inner(x: int) -> int:
    return x * 2


@trace(name="work.outer")
def outer(x: int) -> int:
    return inner(x) + 1


@trace()
def plain() -> str:
    return "plain"


@trace(name="work.fails")
def fails() -> None:
    raise ValueError("boom")


@trace(name="work.async")
async def async_outer(x: int) -> int:
    await asyncio.sleep(0)
    return inner(x)


@trace(name="work.async_fails")
async def async_fails() -> None:
    await asyncio.sleep(0)
    raise KeyError("missing")


def call_everything() -> dict[str, Any]:
    seen: dict[str, Any] = {"outer": outer(3), "plain": plain(), "async": asyncio.run(async_outer(4))}
    for name, call in (("fails", fails), ("async_fails", lambda: asyncio.run(async_fails()))):
        try:
            call()
        except Exception as exc:
            seen[name] = type(exc).__name__
    return seen


def decorated() -> dict[str, Any]:
    from exporter.settings import Settings

    return {"enabled": init_tracing(Settings.from_env()), **call_everything()}


def off() -> dict[str, Any]:
    from exporter.cli import build
    from exporter.demo import FakeGitHub, FakeRepo
    from exporter.settings import Settings
    from exporter.web.app import create_app

    fake = FakeGitHub(repos=[FakeRepo("octo/app")])
    url = fake.start()
    try:
        settings = Settings.from_env(
            {"EXPORTER_GITHUB_API_URL": url, "GITHUB_TOKEN": "t", "EXPORTER_REPOS": "octo/app"}
        )
        before = {thread.name for thread in threading.enumerate()}
        enabled = init_tracing(settings)
        new_threads = sorted({thread.name for thread in threading.enumerate()} - before)
        exporter = build(settings)
        create_app(settings, exporter.collector, exporter.registry)
        result = exporter.refresher()
        exporter.collector.close()
        seen = call_everything()
    finally:
        fake.stop()
    return {
        "enabled": enabled,
        "threads_started_by_init": new_threads,
        "refreshed_series": len(result.series),
        "ddtrace_modules": sorted(name for name in sys.modules if name.split(".")[0] == "ddtrace"),
        **seen,
    }


if __name__ == "__main__":
    print(json.dumps({"decorated": decorated, "off": off}[sys.argv[1]]()))
