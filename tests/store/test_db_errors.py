"""What a database error means for the sink, by SQLSTATE: reconnect, retry the transaction,
set the record aside, or stop and report — and the short reason an ops endpoint shows."""

from __future__ import annotations

import psycopg
import pytest

from store.db import ErrorKind, classify, describe, is_connection_lost
from store.errors import RefusedDataError

CASES = [
    (psycopg.OperationalError("connection refused"), ErrorKind.CONNECTION_LOST),
    (psycopg.errors.AdminShutdown(), ErrorKind.CONNECTION_LOST),
    (psycopg.errors.TooManyConnections(), ErrorKind.CONNECTION_LOST),
    (psycopg.errors.DeadlockDetected(), ErrorKind.CONFLICT),
    (psycopg.errors.SerializationFailure(), ErrorKind.CONFLICT),
    (psycopg.errors.LockNotAvailable(), ErrorKind.CONFLICT),
    (psycopg.errors.UntranslatableCharacter(), ErrorKind.REFUSED_DATA),
    (psycopg.errors.CheckViolation(), ErrorKind.REFUSED_DATA),
    (psycopg.DataError("NUL bytes"), ErrorKind.REFUSED_DATA),
    (RefusedDataError("no partition"), ErrorKind.REFUSED_DATA),
    (psycopg.errors.UndefinedTable(), ErrorKind.FAULT),
    (psycopg.errors.ReadOnlySqlTransaction(), ErrorKind.FAULT),
    (psycopg.errors.InsufficientPrivilege(), ErrorKind.FAULT),
    (psycopg.errors.DiskFull(), ErrorKind.FAULT),
    (ValueError("a bug"), ErrorKind.FAULT),
]


@pytest.mark.parametrize(("error", "kind"), CASES, ids=lambda c: type(c).__name__)
def test_each_error_has_one_meaning(error: Exception, kind: ErrorKind) -> None:
    assert classify(error) is kind
    # A deadlock or a full disk is not a lost database: reconnecting cures neither.
    assert is_connection_lost(error) is (kind is ErrorKind.CONNECTION_LOST)


def test_reasons_are_words_not_exception_text() -> None:
    assert describe(psycopg.OperationalError("host db.internal:5432 refused")) == (
        "database unreachable"
    )
    assert describe(psycopg.errors.ReadOnlySqlTransaction()).startswith("database is read-only")
    assert describe(psycopg.errors.DeadlockDetected()).startswith("deadlock")
    assert describe(ValueError("secret value 42")) == "unexpected error (ValueError)"
