"""The FastAPI application: operations endpoints and the /v1 routers."""

from __future__ import annotations

from fastapi import FastAPI

from api.health import HealthRegistry
from api.ops import ops_router


def create_app(health: HealthRegistry) -> FastAPI:
    app = FastAPI(
        title="Lookout",
        version=health.version,
        description="Maritime situational-awareness fusion center: the common operating "
        "picture, vessel tracks and suspicious-vessel alerts.",
    )
    app.state.health = health
    app.include_router(ops_router(health))
    return app
