"""Running several long-lived services in one process, and stopping them together."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from lookout.settings import StopSettings

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Service:
    """A named coroutine that runs until cancelled (or returns when its work is done)."""

    name: str
    run: Callable[[], Awaitable[None]]


async def run_services(services: list[Service], stop: asyncio.Event | None = None) -> None:
    """Run all services; SIGINT/SIGTERM or ``stop`` ends them all (a service still stopping
    after ``LOOKOUT_STOP_GRACE_S`` is cancelled again). A service that fails brings the
    others down too, so a half-working process never pretends to be healthy."""
    stop = stop or asyncio.Event()
    grace_s = StopSettings().stop_grace_s
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
            loop.add_signal_handler(sig, stop.set)

    async def supervised(service: Service) -> None:
        log.info("service starting", service=service.name)
        try:
            await service.run()
            log.info("service finished", service=service.name)
        except asyncio.CancelledError:
            log.info("service stopped", service=service.name)
            raise

    tasks: list[asyncio.Task[object]] = [
        asyncio.create_task(supervised(s), name=s.name) for s in services
    ]
    stopper: asyncio.Task[object] = asyncio.create_task(stop.wait(), name="stop")
    try:
        pending = set(tasks)
        while pending and not stop.is_set():
            done, _ = await asyncio.wait(pending | {stopper}, return_when=asyncio.FIRST_COMPLETED)
            for task in done - {stopper}:
                pending.discard(task)
                if not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
    finally:
        for task in [*tasks, stopper]:
            task.cancel()
        # A cancelled service's clean-up can wait forever (a commit to a broker that is
        # gone): cancel what is still stopping again, every grace period, until all stop.
        still = {t for t in [*tasks, stopper] if not t.done()}
        while still:
            _, still = await asyncio.wait(still, timeout=grace_s)
            if still:
                log.warning(
                    "services still stopping, cancelled again",
                    services=sorted(t.get_name() for t in still),
                    waited_s=grace_s,
                )
                for task in still:
                    task.cancel()
        await asyncio.gather(*tasks, stopper, return_exceptions=True)
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
