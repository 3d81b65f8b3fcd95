"""`lookout api`: the HTTP API as its own process."""

from __future__ import annotations

from api.app import create_app
from api.db import ApiDatabase
from api.health import HealthRegistry
from api.settings import ApiSettings, api_database_url
from bus import BusSettings
from bus.factory import make_bus
from lookout import __version__
from lookout.checks import database_check
from lookout.http import http_service
from lookout.sea_router import sea_router
from lookout.services import run_services
from store.settings import StoreSettings


async def serve_api(host: str, port: int) -> None:
    database_url = StoreSettings().database_url
    settings = ApiSettings()
    health = HealthRegistry(__version__)
    health.register("database", database_check(database_url))
    bus = make_bus(BusSettings(), source="/lookout/api")
    async with bus:
        app = create_app(
            health,
            database=ApiDatabase(api_database_url(database_url, settings), settings),
            bus=bus,
            settings=settings,
            route_finder=sea_router,
        )
        await run_services([http_service("api", app, host, port)])
