"""``lookout dispatch``: alert events to partner agencies' webhooks (distributed mode; the
bus from LOOKOUT_BUS, the database from LOOKOUT_DATABASE_URL). Health and metrics on the
ops port (LOOKOUT_OPS_PORT)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from api.health import HealthRegistry
from api.webhooks.dispatcher import Dispatcher
from api.webhooks.settings import WebhookSettings
from bus import BusSettings
from bus.factory import make_bus
from lookout import __version__
from lookout.checks import database_check
from lookout.services import Service
from lookout.standalone import run_standalone
from schemas.topics import Topic
from store.migrate import migrate_database
from store.settings import StoreSettings


async def _run_dispatch(migrate_first: bool) -> None:
    store = StoreSettings()
    settings = WebhookSettings()
    if migrate_first:
        await migrate_database(store)
    bus = make_bus(BusSettings(), source="/lookout/dispatch")
    async with bus:
        await bus.ensure_topics([settings.dispatch_topic, Topic.DEADLETTER])
        dispatcher = Dispatcher(bus, settings, store.database_url)
        health = HealthRegistry(__version__)
        health.register("webhook-dispatcher", dispatcher.health)
        health.register_liveness("webhook-dispatcher", dispatcher.liveness)
        health.register("database", database_check(store.database_url))
        await run_standalone([Service("webhook-dispatcher", dispatcher.run)], health)


def dispatch_command(
    migrate_first: Annotated[
        bool, typer.Option("--migrate/--no-migrate", help="Apply migrations before starting.")
    ] = False,
) -> None:
    """Deliver alert events to webhook subscribers: signed, filtered, retried on the
    persisted schedule, logged (rows written before offsets are committed)."""
    asyncio.run(_run_dispatch(migrate_first))
