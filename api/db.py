"""The API's database: a pool of connections as the ``lookout_api`` role, and the
per-request transaction that tells row-level security who is asking."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from api.settings import ApiSettings
from store.db import Conn


class ApiDatabase:
    def __init__(self, url: str, settings: ApiSettings) -> None:
        self.url = url
        self.settings = settings
        self.pool: AsyncConnectionPool[AsyncConnection[Any]] = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=settings.api_db_pool_size,
            kwargs={"autocommit": True},
            open=False,
            name="lookout-api",
            # A pooled connection the server dropped meanwhile (a restart, a failover) is
            # replaced on checkout instead of failing the request with a 500: one round trip
            # per request, on a loopback or LAN connection well under a millisecond.
            check=AsyncConnectionPool.check_connection,
        )

    async def open(self) -> None:
        await self.pool.open(wait=True, timeout=30)

    async def close(self) -> None:
        await self.pool.close()

    @asynccontextmanager
    async def session(self, agency: str | None) -> AsyncIterator[Conn]:
        """One transaction in which every query sees what ``agency`` may see (None: only
        what every agency may see)."""
        async with self.pool.connection() as conn, conn.transaction():
            await set_agency(conn, agency, self.settings.sharing_window_days)
            yield conn


async def set_agency(conn: Conn, agency: str | None, window_days: int) -> None:
    """Transaction-local settings the policies of migration 008 read."""
    await conn.execute(
        "SELECT set_config('lookout.agency', %s, true), "
        "set_config('lookout.sharing_window_days', %s, true)",
        (agency or "", str(window_days)),
    )
