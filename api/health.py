"""Health checks that the composition root registers: liveness for /healthz, readiness for
/readyz.

Liveness asks "is the process and are its loops alive?" — a no restarts it. Readiness
asks "can it do its work now?" (database reachable, migrations applied, consumer
progressing) — a no takes it out of service until it recovers, without a restart. A
database outage makes a sink not ready, never not alive: restarting sinks in a loop during
an outage helps nobody.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from schemas.health import ComponentHealth, HealthReport

HealthCheck = Callable[[], Awaitable[ComponentHealth]]

_RANK = {"ok": 0, "degraded": 1, "down": 2}


class HealthRegistry:
    def __init__(self, version: str) -> None:
        self.version = version
        self._readiness: dict[str, HealthCheck] = {}
        self._liveness: dict[str, HealthCheck] = {}

    def register(self, name: str, check: HealthCheck) -> None:
        """A readiness check (/readyz)."""
        self._readiness[name] = check

    def register_liveness(self, name: str, check: HealthCheck) -> None:
        """A liveness check (/healthz): down only when a restart is the cure (a loop that
        stopped turning). A process with none is alive while it answers."""
        self._liveness[name] = check

    async def report(self, timeout_s: float = 2.0) -> HealthReport:
        """Readiness of every component."""
        return await self._run(self._readiness, timeout_s)

    async def liveness(self, timeout_s: float = 2.0) -> HealthReport:
        return await self._run(self._liveness, timeout_s)

    async def _run(self, checks: dict[str, HealthCheck], timeout_s: float) -> HealthReport:
        async def run(name: str, check: HealthCheck) -> ComponentHealth:
            try:
                async with asyncio.timeout(timeout_s):  # not wait_for: see pyproject
                    return await check()
            except TimeoutError:
                detail = f"health check timed out after {timeout_s:g}s"
                return ComponentHealth(name=name, status="down", detail=detail)
            except Exception as exc:  # a failing check is itself the finding
                detail = f"health check failed ({type(exc).__name__})"
                return ComponentHealth(name=name, status="down", detail=detail)

        components = await asyncio.gather(*(run(n, c) for n, c in checks.items()))
        worst = max((c.status for c in components), key=_RANK.__getitem__, default="ok")
        return HealthReport(status=worst, version=self.version, components=list(components))
