"""The FastAPI application: operations endpoints, the /v1 routers and the watch-floor page."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from api.assets.nearest import RouteFinder
from api.cop_cache import CopCache
from api.db import ApiDatabase
from api.health import HealthRegistry
from api.live import LiveAlerts
from api.ops import ops_router
from api.routes import (
    alerts,
    assets,
    audit,
    config,
    cop,
    live,
    nearest_help,
    reports,
    session,
    vessels,
    webhooks,
)
from api.settings import ApiSettings
from bus.base import Bus

PAGE_DIR = Path(__file__).resolve().parent / "page"


def v1_router() -> APIRouter:
    router = APIRouter(prefix="/v1")
    router.include_router(session.router)
    # live before alerts: /alerts/stream is not an alert id
    for module in (
        cop,
        vessels,
        live,
        alerts,
        reports,
        config,
        audit,
        webhooks,
        assets,
        nearest_help,
    ):
        router.include_router(module.router)
    return router


def create_app(
    health: HealthRegistry,
    *,
    database: ApiDatabase | None = None,
    bus: Bus | None = None,
    settings: ApiSettings | None = None,
    route_finder: Callable[[], RouteFinder] | None = None,
) -> FastAPI:
    """The app. With ``database`` it serves /v1 (the pool opens and closes with the app);
    without, only the operations endpoints answer and /v1 says 503."""

    app_settings = settings or ApiSettings()
    cop_cache = CopCache(database, app_settings.cop_cache_s)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        hub: LiveAlerts | None = None
        if database is not None:
            await database.open()
            hub = LiveAlerts(
                database,
                bus,
                app_settings.sse_queue_size,
                app_settings.sse_poll_s,
                app_settings.sse_settle_s,
            )
            await hub.start()
        app.state.live = hub
        try:
            yield
        finally:
            if hub is not None:
                await hub.stop()
            await cop_cache.close()
            if database is not None:
                await database.close()

    app = FastAPI(
        title="Lookout",
        version=health.version,
        description="Maritime situational-awareness fusion center: the common operating "
        "picture, vessel tracks and suspicious-vessel alerts. Every /v1 route takes an "
        "agency's API key (`X-API-Key` or `Authorization: Bearer`); what a caller sees "
        "follows the mutual-sharing rule, enforced by PostgreSQL row-level security.",
        lifespan=lifespan,
    )
    app.state.health = health
    app.state.database = database
    app.state.bus = bus
    app.state.settings = app_settings
    app.state.route_finder = route_finder  # nearest help by sea (lookout wires fusion's)
    app.state.cop_cache = cop_cache
    app.include_router(ops_router(health))
    app.include_router(v1_router())
    app.mount("/page", StaticFiles(directory=PAGE_DIR), name="page")

    @app.get("/", include_in_schema=False)
    async def watch_floor() -> FileResponse:
        """The watch-floor page (api/page): map, live alerts, vessel tracks."""
        return FileResponse(PAGE_DIR / "index.html")

    return app
