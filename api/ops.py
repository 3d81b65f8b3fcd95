"""Operations endpoints every Lookout process serves: /healthz (liveness), /readyz
(readiness) and /metrics. Both health answers are 503 when a component is down, with its
reason in words (never raw exception text)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.health import HealthRegistry
from schemas.health import HealthReport


def _answer(report: HealthReport) -> JSONResponse:
    code = 503 if report.status == "down" else 200
    return JSONResponse(report.model_dump(mode="json"), status_code=code)


def ops_router(health: HealthRegistry) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", response_model=HealthReport)
    async def healthz() -> JSONResponse:
        """Liveness: the process and its loops are alive (a Kubernetes livenessProbe; 503
        means restart it)."""
        return _answer(await health.liveness())

    @router.get("/readyz", response_model=HealthReport)
    async def readyz() -> JSONResponse:
        """Readiness: every component can do its work now (database reachable, schema
        migrated, consumer progressing); 503 when one cannot, with the reason."""
        return _answer(await health.report())

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def create_ops_app(health: HealthRegistry, title: str) -> FastAPI:
    """A tiny app for services that have no HTTP API of their own (sink, ingest, fusion)."""
    app = FastAPI(title=title, version=health.version, docs_url=None, redoc_url=None)
    app.include_router(ops_router(health))
    return app
