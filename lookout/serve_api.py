"""`lookout api`: the HTTP API as its own process."""

from __future__ import annotations

from api.app import create_app
from api.health import HealthRegistry
from lookout import __version__
from lookout.checks import database_check
from lookout.http import http_service
from lookout.services import run_services
from store.settings import StoreSettings


async def serve_api(host: str, port: int) -> None:
    database_url = StoreSettings().database_url
    health = HealthRegistry(__version__)
    health.register("database", database_check(database_url))
    await run_services([http_service("api", create_app(health), host, port)])
