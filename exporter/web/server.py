"""uvicorn, run so that SIGTERM (or Ctrl+C) ends a graceful shutdown and a normal return, not death by signal."""

from __future__ import annotations

import signal
import socket
from collections.abc import Callable
from types import FrameType

import uvicorn


class _Server(uvicorn.Server):
    """uvicorn's server, calling `on_shutdown` as its shutdown begins: before it stops accepting and
    waits (up to `timeout_graceful_shutdown`) for the requests in flight, then cancels them."""

    def __init__(self, config: uvicorn.Config, on_shutdown: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_shutdown = on_shutdown

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._on_shutdown()
        await super().shutdown(sockets)


def serve(config: uvicorn.Config, on_shutdown: Callable[[], None]) -> None:
    """Serve until SIGTERM or SIGINT, call `on_shutdown`, shut down gracefully, and return."""
    server = _Server(config, on_shutdown)

    def exit_gracefully(signum: int, frame: FrameType | None) -> None:
        # uvicorn handles these signals while it serves, and raises the signal again once it has
        # shut down, for the program's own handler: this one (Python's default would end the process
        # with 143, before the program closes anything). It may also come before uvicorn took over.
        server.should_exit = True

    previous = {sig: signal.signal(sig, exit_gracefully) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
