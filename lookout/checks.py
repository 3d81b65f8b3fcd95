"""Health checks the composition root registers for shared dependencies."""

from __future__ import annotations

import psycopg

from api.health import HealthCheck
from bus.base import Subscription
from schemas.health import ComponentHealth


def database_check(url: str) -> HealthCheck:
    async def check() -> ComponentHealth:
        async with await psycopg.AsyncConnection.connect(url, connect_timeout=2) as conn:
            cur = await conn.execute("select version()")
            row = await cur.fetchone()
        version = str(row[0]).split(" on ")[0] if row else "?"
        return ComponentHealth(name="database", status="ok", detail=version)

    return check


def subscription_check(name: str, subscription: Subscription) -> HealthCheck:
    """A consumer that stopped making progress makes the process unhealthy."""

    async def check() -> ComponentHealth:
        health = await subscription.health()
        return ComponentHealth(
            name=name,
            status="ok" if health.alive else "down",
            detail=health.reason,
            facts={"lag": health.lag, "assigned_partitions": health.assigned},
        )

    return check
