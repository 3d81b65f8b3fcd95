"""Errors of the store room. Callers catch these, not ``Exception``."""

from __future__ import annotations


class StoreError(RuntimeError):
    """Base of the store room's errors."""


class MigrationError(StoreError):
    """A migration could not be applied, or an applied one was edited afterwards."""


class QueryError(StoreError, ValueError):
    """A query's arguments make no sense (e.g. a bounding box whose south is north of its
    north); the reason is meant for a 4xx body."""


class CheckpointStoreError(StoreError):
    """Fusion's checkpoints could not be read or written; the message is the reason in
    words (``store.db.describe``), fit for an ops endpoint."""


class SinkError(StoreError):
    """The sink cannot go on with its batch; the message is the reason it reports."""


class SchemaNotReadyError(SinkError):
    """The database lacks migrations this code needs (e.g. "schema not migrated (have 5,
    need 6)"): the sink waits for ``lookout db migrate``."""


class SinkHaltedError(SinkError):
    """Most of a batch would go to the dead-letter topic: something is wrong beyond the
    records (a constraint, a producer version), so the sink stops instead."""


class RefusedDataError(StoreError):
    """An event the store cannot hold (e.g. dated on a day whose partition cannot be
    bounded): it would be refused again on every try, so the sink dead-letters it."""
