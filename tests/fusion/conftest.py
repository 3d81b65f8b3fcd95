"""Fusion tests share the store tests' fresh-database fixtures."""

from tests.store.conftest import db_url, empty_db_url, store_settings

__all__ = ["db_url", "empty_db_url", "store_settings"]
