"""Health checks that the composition root registers and /healthz runs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from schemas.health import ComponentHealth, HealthReport

HealthCheck = Callable[[], Awaitable[ComponentHealth]]

_RANK = {"ok": 0, "degraded": 1, "down": 2}


class HealthRegistry:
    def __init__(self, version: str) -> None:
        self.version = version
        self._checks: dict[str, HealthCheck] = {}

    def register(self, name: str, check: HealthCheck) -> None:
        self._checks[name] = check

    async def report(self, timeout_s: float = 2.0) -> HealthReport:
        async def run(name: str, check: HealthCheck) -> ComponentHealth:
            try:
                return await asyncio.wait_for(check(), timeout_s)
            except Exception as exc:  # a failing check is itself the finding
                return ComponentHealth(name=name, status="down", detail=repr(exc))

        components = await asyncio.gather(*(run(n, c) for n, c in self._checks.items()))
        worst = max((c.status for c in components), key=_RANK.__getitem__, default="ok")
        return HealthReport(status=worst, version=self.version, components=list(components))
