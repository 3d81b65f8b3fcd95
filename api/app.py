"""The FastAPI application: /healthz, /metrics and the /v1 routers."""

from __future__ import annotations

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.health import HealthRegistry
from schemas.health import HealthReport


def create_app(health: HealthRegistry) -> FastAPI:
    app = FastAPI(
        title="Lookout",
        version=health.version,
        description="Maritime situational-awareness fusion center: the common operating "
        "picture, vessel tracks and suspicious-vessel alerts.",
    )
    app.state.health = health

    @app.get("/healthz", response_model=HealthReport, tags=["operations"])
    async def healthz() -> JSONResponse:
        """Liveness and readiness of every component; 503 when any is down."""
        report = await health.report()
        code = 503 if report.status == "down" else 200
        return JSONResponse(report.model_dump(mode="json"), status_code=code)

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
