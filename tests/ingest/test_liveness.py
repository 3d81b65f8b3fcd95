"""Ingest's liveness (/healthz): down when its read loop or its timer has stopped turning,
never for a quiet feed or a bus that refuses (those are readiness)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

import pytest

from bus.base import Outgoing
from bus.memory import MemoryBus
from ingest.decoder import AisDecoder, AisEvent
from ingest.pipeline import run_ingest
from ingest.progress import IngestProgress
from ingest.settings import IngestSettings
from tests.ingest.support import wait_for
from tests.ingest.test_decoder import TYPE_1
from tests.ingest.test_pipeline_delivery import FlakyBus, LiveFeed, cancel_and_expect_cancelled

TIMEOUT_S = 0.3
SETTINGS = IngestSettings(
    flush_interval_s=0.02,
    fragment_timeout_s=3600,
    liveness_timeout_s=TIMEOUT_S,
    batch_size=1,
    publish_retry_initial_s=0.02,
    publish_retry_max_s=0.05,
)


class HangingBus(MemoryBus):
    """A real memory bus whose publishes never return (a client stuck on a dead socket)."""

    def __init__(self) -> None:
        super().__init__()
        self.hanging = 0
        self.release = asyncio.Event()

    async def publish_many(self, messages: Sequence[Outgoing]) -> None:
        self.hanging += 1
        await self.release.wait()
        await super().publish_many(messages)


async def alive_after(progress: IngestProgress, ticks: int) -> bool:
    """Liveness once the timer has ticked ``ticks`` more times (well past the timeout)."""
    start = progress.heartbeat.ticks
    await wait_for(lambda: progress.heartbeat.ticks >= start + ticks, what="timer ticks")
    return (await progress.liveness()).status == "ok"


async def test_a_quiet_feed_is_alive() -> None:
    progress = IngestProgress("live")
    async with MemoryBus() as bus:
        run = asyncio.create_task(run_ingest(LiveFeed([TYPE_1]), bus, SETTINGS, progress))
        await wait_for(lambda: progress.stats.lines_read == 1, what="the line")
        assert await alive_after(progress, ticks=int(3 * TIMEOUT_S / SETTINGS.flush_interval_s))
        assert progress.heartbeat.waiting_for_feed
        await cancel_and_expect_cancelled(run)


async def test_a_bus_that_refuses_makes_ingest_not_ready_but_alive() -> None:
    progress = IngestProgress("live")
    async with FlakyBus(failures=10**9) as bus:
        run = asyncio.create_task(run_ingest(LiveFeed([TYPE_1]), bus, SETTINGS, progress))
        await wait_for(lambda: bus.refused >= 2, what="publishes refused")
        assert await alive_after(progress, ticks=int(3 * TIMEOUT_S / SETTINGS.flush_interval_s))
        assert (await progress.health()).status == "down"
        await cancel_and_expect_cancelled(run)


async def test_a_publish_that_never_returns_makes_ingest_not_alive() -> None:
    progress = IngestProgress("live")
    async with HangingBus() as bus:
        run = asyncio.create_task(run_ingest(LiveFeed([TYPE_1]), bus, SETTINGS, progress))
        await wait_for(lambda: bus.hanging == 1, what="the publish")
        assert (await progress.liveness()).status == "ok"

        await wait_for(lambda: progress.heartbeat.stuck() is not None, what="stuck")
        health = await progress.liveness()
        assert health.status == "down"
        assert health.detail.startswith("the read loop has not moved for")
        bus.release.set()  # the client answers again: the loop moves, ingest is alive
        await wait_for(lambda: progress.heartbeat.stuck() is None, what="alive again")
        await cancel_and_expect_cancelled(run)


async def test_a_timer_that_fails_is_reported_with_its_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(self: AisDecoder, now: datetime, out: list[AisEvent], ids: object = None) -> None:
        raise RuntimeError("fragment table corrupt")

    monkeypatch.setattr(AisDecoder, "expire", broken)
    progress = IngestProgress("live")
    async with MemoryBus() as bus:
        run = asyncio.create_task(run_ingest(LiveFeed([TYPE_1]), bus, SETTINGS, progress))
        await wait_for(lambda: progress.heartbeat.timer_failure is not None, what="the failure")
        health = await progress.liveness()
        assert health.status == "down"
        assert health.detail == "the ingest timer failed: RuntimeError: fragment table corrupt"
        await cancel_and_expect_cancelled(run)
