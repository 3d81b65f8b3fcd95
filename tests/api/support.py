"""A real API server for the tests: uvicorn on a loopback port, the app connected to a
migrated database as the lookout_api role, keys created the way `lookout keys` does."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import uvicorn

from api.app import create_app
from api.assets.nearest import RouteFinder
from api.db import ApiDatabase
from api.health import HealthRegistry
from api.settings import ApiSettings, api_database_url
from bus.base import Bus
from lookout.http import SHUTDOWN_GRACE_S
from lookout.sea_router import sea_router
from store.api_keys import Role, create_key
from store.db import connect
from tests.support.tansu import free_port

CLIENT_TIMEOUT_S = 60.0
"""How long a test waits for an answer before calling the server hung. Not httpx's
default of 5 s: that made every API test a speed test, and on a loaded machine a fresh
app's first request (its connection pool filling, first queries planned) took longer
(seen: test_assets' first POST, ReadTimeout, with the load above 10)."""


@dataclass
class ApiServer:
    base_url: str
    db_url: str
    """The owner's connection (tests arrange data with it; the API never uses it)."""
    settings: ApiSettings
    keys: dict[tuple[str, Role], str] = field(default_factory=dict)
    bus: Bus | None = None

    async def key(self, agency: str, role: Role = Role.ANALYST) -> str:
        if (agency, role) not in self.keys:
            async with await connect(self.db_url) as conn:
                self.keys[agency, role] = (await create_key(conn, agency, role)).secret
        return self.keys[agency, role]

    async def client(self, agency: str, role: Role = Role.ANALYST) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base_url,
            headers={"X-API-Key": await self.key(agency, role)},
            timeout=CLIENT_TIMEOUT_S,
        )


@contextlib.asynccontextmanager
async def serve_api(
    db_url: str,
    settings: ApiSettings | None = None,
    bus: Bus | None = None,
    route_finder: Callable[[], RouteFinder] = sea_router,
) -> AsyncIterator[ApiServer]:
    settings = settings or ApiSettings()
    port = free_port()
    database = ApiDatabase(api_database_url(db_url, settings), settings)
    app = create_app(
        HealthRegistry("test"),
        database=database,
        bus=bus,
        settings=settings,
        route_finder=route_finder,
    )
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,  # an open SSE stream must not hang teardown
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise AssertionError("the API server stopped before it started")
        await asyncio.sleep(0.02)
    try:
        yield ApiServer(f"http://127.0.0.1:{port}", db_url, settings, bus=bus)
    finally:
        server.should_exit = True
        await task


async def eventually(
    check: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 20.0
) -> None:
    """Wait for ``check`` (the sink writes what the API publishes a moment later)."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        await asyncio.sleep(0.05)
