"""``lookout sink``: ais.positions, ais.static, patrol.reports and fusion.alerts into the
database (distributed mode; the bus from LOOKOUT_BUS, the database from
LOOKOUT_DATABASE_URL). Health and metrics on the ops port (LOOKOUT_OPS_PORT)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from api.health import HealthRegistry
from bus import BusSettings
from bus.factory import make_bus
from lookout import __version__
from lookout.checks import database_check
from lookout.services import Service
from lookout.standalone import run_standalone
from schemas.topics import Topic
from store.decode import SINK_TOPICS
from store.migrate import migrate_database
from store.settings import StoreSettings
from store.sink import StoreSink


async def _run_sink(migrate_first: bool) -> None:
    settings = StoreSettings()
    if migrate_first:
        await migrate_database(settings)
    bus = make_bus(BusSettings(), source="/lookout/sink")
    async with bus:
        await bus.ensure_topics([*SINK_TOPICS, Topic.DEADLETTER])
        sink = StoreSink(bus, settings)
        health = HealthRegistry(__version__)
        health.register("store-sink", sink.readiness)
        health.register_liveness("store-sink", sink.liveness)
        health.register("database", database_check(settings.database_url))
        await run_standalone([Service("store-sink", sink.run)], health)


def sink_command(
    migrate_first: Annotated[
        bool, typer.Option("--migrate/--no-migrate", help="Apply migrations before starting.")
    ] = False,
) -> None:
    """Write the bus's positions, identities, patrol reports and alerts into the database,
    effectively once (offsets committed only after the database commit)."""
    asyncio.run(_run_sink(migrate_first))
