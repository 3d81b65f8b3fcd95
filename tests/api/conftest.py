"""API tests run a real server against a fresh migrated database (tests/store/conftest),
with the store sink writing what the API and the tests publish on the bus."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from bus.memory import MemoryBus
from schemas.topics import Topic
from store.settings import StoreSettings
from store.sink import StoreSink
from tests.api.support import ApiServer, serve_api
from tests.store.conftest import conn, db_url, empty_db_url, store_settings

__all__ = ["conn", "db_url", "empty_db_url", "store_settings"]

pytestmark = pytest.mark.postgres


@pytest.fixture
async def api(db_url: str) -> AsyncIterator[ApiServer]:
    async with serve_api(db_url) as server:
        yield server


@contextlib.asynccontextmanager
async def running_sink(bus: MemoryBus, settings: StoreSettings) -> AsyncIterator[StoreSink]:
    sink = StoreSink(bus, settings)
    task = asyncio.create_task(sink.run())
    try:
        yield sink
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.fixture
async def live_api(db_url: str, store_settings: StoreSettings) -> AsyncIterator[ApiServer]:
    """The API with a bus to publish on and the sink writing it into the database."""
    bus = MemoryBus(source="/tests/api")
    await bus.start()
    await bus.ensure_topics(list(Topic))
    try:
        async with running_sink(bus, store_settings), serve_api(db_url, bus=bus) as server:
            yield server
    finally:
        await bus.stop()
