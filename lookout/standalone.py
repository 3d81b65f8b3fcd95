"""Running one service as its own process (distributed mode): the service itself plus an
ops endpoint (/healthz liveness, /readyz readiness, /metrics) so an orchestrator can probe
and scrape it."""

from __future__ import annotations

from api.health import HealthRegistry
from api.ops import create_ops_app
from api.settings import OpsSettings
from lookout.http import http_service
from lookout.services import Service, run_services


async def run_standalone(
    services: list[Service], health: HealthRegistry, ops: OpsSettings | None = None
) -> None:
    ops = ops or OpsSettings()
    extra: list[Service] = []
    if ops.ops_port:
        app = create_ops_app(health, title=f"lookout {' + '.join(s.name for s in services)}")
        extra.append(http_service("ops", app, ops.ops_host, ops.ops_port))
    await run_services([*services, *extra])
