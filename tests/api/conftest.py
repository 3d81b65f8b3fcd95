"""API tests run a real server against a fresh migrated database (tests/store/conftest)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.api.support import ApiServer, serve_api
from tests.store.conftest import conn, db_url, empty_db_url, store_settings

__all__ = ["conn", "db_url", "empty_db_url", "store_settings"]

pytestmark = pytest.mark.postgres


@pytest.fixture
async def api(db_url: str) -> AsyncIterator[ApiServer]:
    async with serve_api(db_url) as server:
        yield server
