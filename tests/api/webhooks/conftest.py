"""Fixtures of the webhook tests: a migrated database (the store's fixtures), a scripted
receiver on loopback, a manual clock and a dispatcher wired to all three."""

from __future__ import annotations

from tests.store.conftest import conn, db_url, empty_db_url, store_settings

__all__ = ["conn", "db_url", "empty_db_url", "store_settings"]
