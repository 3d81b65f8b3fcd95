"""Health checks the composition root registers for shared dependencies."""

from __future__ import annotations

import psycopg

from api.health import HealthCheck
from schemas.health import ComponentHealth


def database_check(url: str) -> HealthCheck:
    async def check() -> ComponentHealth:
        async with await psycopg.AsyncConnection.connect(url, connect_timeout=2) as conn:
            cur = await conn.execute("select version()")
            row = await cur.fetchone()
        version = str(row[0]).split(" on ")[0] if row else "?"
        return ComponentHealth(name="database", status="ok", detail=version)

    return check
