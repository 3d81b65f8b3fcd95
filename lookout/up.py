"""The embedded default: every service in one process over the in-memory bus, with an
embedded PostgreSQL whose data survives restarts, and the API on loopback.

Each later service adds itself to ``build_services``; nothing else needs to change.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from contextlib import ExitStack

import structlog
import uvicorn

from api.app import create_app
from api.health import HealthCheck, HealthRegistry
from api.settings import ApiSettings
from bus.memory import MemoryBus
from lookout import __version__
from lookout.services import Service, run_services
from lookout.settings import UpSettings
from schemas.health import ComponentHealth
from schemas.topics import Topic
from store.embedded import EmbeddedPostgres

log = structlog.get_logger(__name__)


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handlers: the runner owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def api_service(health: HealthRegistry, settings: ApiSettings) -> Service:
    config = uvicorn.Config(
        create_app(health),
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,
        access_log=False,
        lifespan="on",
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

    return Service("api", run)


def build_services(
    bus: MemoryBus, database_url: str, health: HealthRegistry, settings: UpSettings
) -> list[Service]:
    """Every service that exists so far, wired to one bus and one database."""
    services: list[Service] = []
    return services


async def run_embedded(settings: UpSettings, api: ApiSettings) -> None:
    with ExitStack() as stack:
        database_url = settings.database_url
        if database_url is None:
            postgres = EmbeddedPostgres(settings.data_dir / "postgres")
            database_url = postgres.start()
            stack.callback(postgres.stop)

        bus = MemoryBus(source="/lookout/up")
        await bus.start()
        await bus.ensure_topics(list(Topic))

        health = HealthRegistry(__version__)

        async def bus_health() -> ComponentHealth:
            return ComponentHealth(name="bus", status="ok", detail="in-memory")

        health.register("bus", bus_health)
        health.register("database", _database_check(database_url))

        services = [*build_services(bus, database_url, health, settings), api_service(health, api)]
        log.info(
            "lookout up",
            api=f"http://{api.api_host}:{api.api_port}",
            data_dir=str(settings.data_dir),
            services=[s.name for s in services],
        )
        try:
            await run_services(services)
        finally:
            await bus.stop()


def _database_check(url: str) -> HealthCheck:
    import psycopg

    async def check() -> ComponentHealth:
        async with await psycopg.AsyncConnection.connect(url, connect_timeout=2) as conn:
            cur = await conn.execute("select version()")
            row = await cur.fetchone()
        version = str(row[0]).split(" on ")[0] if row else "?"
        return ComponentHealth(name="database", status="ok", detail=version)

    return check


