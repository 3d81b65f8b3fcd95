"""Health checks the composition root registers for shared dependencies."""

from __future__ import annotations

import psycopg

from api.health import HealthCheck
from schemas.health import ComponentHealth
from store.db import describe
from store.migrate import schema_state


def database_check(url: str) -> HealthCheck:
    """Readiness of the database: reachable, and every migration this code ships applied
    ("schema not migrated (have 8, need 13)" otherwise). Reasons in words, never the
    driver's text (which may name hosts and users)."""

    async def check() -> ComponentHealth:
        try:
            async with await psycopg.AsyncConnection.connect(url, connect_timeout=2) as conn:
                cur = await conn.execute("select version()")
                row = await cur.fetchone()
                state = await schema_state(conn)
        except psycopg.Error as exc:
            return ComponentHealth(name="database", status="down", detail=describe(exc))
        version = str(row[0]).split(" on ")[0] if row else "?"
        if not state.ready:
            return ComponentHealth(name="database", status="down", detail=state.reason)
        return ComponentHealth(name="database", status="ok", detail=version)

    return check
