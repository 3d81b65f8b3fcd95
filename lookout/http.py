"""Serving an ASGI app as one of the runner's services."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from lookout.services import Service

SHUTDOWN_GRACE_S = 5
"""Open requests get this long to finish when the service stops; then they are cut."""


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handlers: the runner owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def http_service(name: str, app: FastAPI, host: str, port: int) -> Service:
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        # Live streams (SSE) never end on their own: without a bound, a graceful shutdown
        # would wait for every watch floor's browser to hang up.
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
    )
    server = _QuietServer(config)

    async def run() -> None:
        serving = asyncio.create_task(server.serve())
        try:
            await asyncio.shield(serving)
        except asyncio.CancelledError:
            server.should_exit = True  # graceful: finish open requests, run shutdown
            await serving
            raise
        if not server.started:
            raise RuntimeError(f"{name}: could not serve on {host}:{port}")

    return Service(name, run)
