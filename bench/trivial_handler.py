"""The floor: a trivial async FastAPI handler answering a fixed body, on uvicorn as `serve` runs it.

`python -m bench.trivial_handler BODY_FILE PORT` serves the file's bytes at /metrics on 127.0.0.1:PORT
until terminated: what any scrape through FastAPI and uvicorn costs before the exporter does anything.
"""

from __future__ import annotations

import sys

import uvicorn
from fastapi import FastAPI, Response


def main() -> None:
    path, port = sys.argv[1], int(sys.argv[2])
    with open(path, "rb") as source:
        body = source.read()
    app = FastAPI(docs_url=None, redoc_url=None)

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(content=body, media_type="text/plain; version=0.0.4; charset=utf-8")

    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False, timeout_keep_alive=5)


if __name__ == "__main__":
    main()
