"""Operations endpoints every Lookout process serves: /healthz and /metrics."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.health import HealthRegistry
from schemas.health import HealthReport


def ops_router(health: HealthRegistry) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", response_model=HealthReport)
    async def healthz() -> JSONResponse:
        """Liveness and readiness of every component; 503 when any is down."""
        report = await health.report()
        code = 503 if report.status == "down" else 200
        return JSONResponse(report.model_dump(mode="json"), status_code=code)

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def create_ops_app(health: HealthRegistry, title: str) -> FastAPI:
    """A tiny app for services that have no HTTP API of their own (sink, ingest, fusion)."""
    app = FastAPI(title=title, version=health.version, docs_url=None, redoc_url=None)
    app.include_router(ops_router(health))
    return app
