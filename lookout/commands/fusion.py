"""``lookout fusion``: tracks, detectors and alerts (distributed mode; the bus from
LOOKOUT_BUS, checkpoints in LOOKOUT_DATABASE_URL). Health and metrics on the ops port."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from api.health import HealthRegistry
from bus import BusSettings
from bus.factory import make_bus
from fusion.cells.service import CellService
from fusion.service import FusionService
from fusion.settings import FusionSettings
from lookout import __version__
from lookout.checks import database_check
from lookout.services import Service
from lookout.standalone import run_standalone
from store.checkpoints import PostgresCheckpointStore
from store.migrate import migrate_database
from store.settings import StoreSettings


async def _run_fusion(migrate_first: bool) -> None:
    store = StoreSettings()
    if migrate_first:
        await migrate_database(store)
    checkpoints = PostgresCheckpointStore(store.database_url)
    bus = make_bus(BusSettings(), source="/lookout/fusion")
    async with bus:
        settings = FusionSettings()
        service = FusionService(bus, settings, checkpoints)
        cells = CellService(bus, settings, checkpoints)
        health = HealthRegistry(__version__)
        health.register("fusion", service.health)
        health.register("fusion-cells", cells.health)
        health.register("database", database_check(store.database_url))
        try:
            await run_standalone(
                [Service("fusion", service.run), Service("fusion-cells", cells.run)], health
            )
        finally:
            await checkpoints.close()


def fusion_command(
    migrate_first: Annotated[
        bool, typer.Option("--migrate/--no-migrate", help="Apply migrations before starting.")
    ] = False,
) -> None:
    """Fuse positions and identities into tracks, run the detectors and publish alerts on
    fusion.alerts; the pair detectors (rendezvous, dark target) run beside them on
    fusion.cells in their own group; state checkpointed in PostgreSQL with the offsets it
    reflects."""
    asyncio.run(_run_fusion(migrate_first))
