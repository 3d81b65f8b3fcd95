"""API tests run a real server against a fresh migrated database (tests/store/conftest),
with the store sink writing what the API and the tests publish on the bus."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bus.memory import MemoryBus
from schemas.topics import Topic
from store.api_keys import Role
from store.settings import StoreSettings
from store.sink import StoreSink
from tests.api.support import ApiServer, serve_api
from tests.store.conftest import conn, db_url, empty_db_url, store_settings
from tests.support.browser import check_browser, chromium

if TYPE_CHECKING:
    from playwright.async_api import Page

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


ARTIFACTS = Path(os.environ.get("LOOKOUT_TEST_ARTIFACTS", "test-artifacts"))
DOCS = Path(__file__).resolve().parents[2] / "docs"


@dataclass
class WatchFloor:
    """The watch-floor page open in headless chromium against ``live_api``; ``errors``
    collects every uncaught page error (a test ends by asserting there were none)."""

    page: Page
    api: ApiServer
    errors: list[str] = field(default_factory=list)

    async def sign_in(self, agency: str = "BAKAMLA", role: Role = Role.WATCH) -> None:
        await self.page.fill("#key", await self.api.key(agency, role))
        await self.page.click("#login-form button[type=submit]")
        await self.page.wait_for_function("window.lookout.live === true", timeout=20_000)

    async def screenshot(self, name: str) -> bytes:
        """The page as a test artifact; with LOOKOUT_UPDATE_SCREENSHOT=1 also the README's
        picture of that name in docs/."""
        png = await self.page.screenshot()
        save_artifact(name, png)
        return png


def save_artifact(name: str, png: bytes) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / name).write_bytes(png)
    if os.environ.get("LOOKOUT_UPDATE_SCREENSHOT"):
        shutil.copy(ARTIFACTS / name, DOCS / name)


@pytest.fixture(scope="session")
def browser_installed() -> None:
    """Skips (or fails, under LOOKOUT_REQUIRE_BROWSER=1) before any server is started
    (session scope: set up before the session's PostgreSQL)."""
    check_browser()


@pytest.fixture
async def watch_floor(browser_installed: None, live_api: ApiServer) -> AsyncIterator[WatchFloor]:
    """The page loaded (not yet signed in) in a 1400x850 window."""
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1400, "height": 850})
        floor = WatchFloor(page, live_api)
        page.on("pageerror", lambda exc: floor.errors.append(str(exc)))
        await page.goto(live_api.base_url + "/")
        yield floor
