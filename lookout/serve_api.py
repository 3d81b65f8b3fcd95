"""`lookout api`: the HTTP API as its own process."""

from __future__ import annotations

import os

import typer

from api.app import create_app
from api.health import HealthRegistry
from lookout import __version__
from lookout.checks import database_check
from lookout.http import http_service
from lookout.services import run_services


async def serve_api(host: str, port: int) -> None:
    database_url = os.environ.get("LOOKOUT_DATABASE_URL")
    if not database_url:
        raise typer.BadParameter("set LOOKOUT_DATABASE_URL to the Lookout database")
    health = HealthRegistry(__version__)
    health.register("database", database_check(database_url))
    await run_services([http_service("api", create_app(health), host, port)])
