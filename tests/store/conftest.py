"""A fresh, migrated database per test on the session's PostgreSQL, so tests never meet."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from store.db import Conn, connect
from store.migrate import migrate
from store.settings import StoreSettings


def database_url(server_url: str, dbname: str) -> str:
    return make_conninfo("", **{**conninfo_to_dict(server_url), "dbname": dbname})


async def create_database(server_url: str) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    async with await psycopg.AsyncConnection.connect(server_url, autocommit=True) as admin:
        await admin.execute(f'CREATE DATABASE "{name}"'.encode())
    return database_url(server_url, name)


async def drop_database(server_url: str, url: str) -> None:
    name = conninfo_to_dict(url)["dbname"]
    async with await psycopg.AsyncConnection.connect(server_url, autocommit=True) as admin:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


@pytest.fixture
async def empty_db_url(postgres_url: str) -> AsyncIterator[str]:
    url = await create_database(postgres_url)
    try:
        yield url
    finally:
        await drop_database(postgres_url, url)


@pytest.fixture
def store_settings(empty_db_url: str) -> StoreSettings:
    return StoreSettings(
        database_url=empty_db_url,
        sink_batch_max_records=200,
        sink_poll_timeout_s=0.1,
        sink_retry_initial_s=0.05,
        sink_retry_max_s=0.5,
    )


@pytest.fixture
async def db_url(empty_db_url: str, store_settings: StoreSettings) -> str:
    """A database with every migration applied."""
    async with await connect(empty_db_url) as conn:
        await migrate(conn, store_settings)
    return empty_db_url


@pytest.fixture
async def conn(db_url: str) -> AsyncIterator[Conn]:
    async with await connect(db_url) as connection:
        yield connection
