"""Retry with backoff for fusion's services: an error that is not about the data (the bus,
the checkpoint store) is retried, never skipped, and the service reports itself down with
the reason until the call succeeds again."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from fusion.metrics import RETRIES
from fusion.settings import FusionSettings

log = structlog.get_logger(__name__)


class Retrier:
    """One per service: ``problem`` is the reason it is down (None when it is not)."""

    def __init__(self, settings: FusionSettings, label: str) -> None:
        self.settings = settings
        self.label = label
        self.problem: str | None = None

    async def __call__(
        self, what: str, call: Callable[..., Awaitable[object]], *args: object
    ) -> object:
        delay_s = self.settings.retry_initial_s
        while True:
            try:
                result = await call(*args)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.problem = f"{what} failed: {exc!s}"[:300]
                RETRIES.inc()
                log.warning(f"{self.label} retrying", what=what, error=self.problem, wait_s=delay_s)
                await asyncio.sleep(delay_s)
                delay_s = min(delay_s * 2, self.settings.retry_max_s)
                continue
            if self.problem is not None:
                log.info(f"{self.label} recovered", what=what)
                self.problem = None
            return result
