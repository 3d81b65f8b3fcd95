"""Connections to PostgreSQL, and what a database error means for the sink.

Four kinds of error, told apart by SQLSTATE (PostgreSQL manual, appendix A):

* the database is out of reach (no answer, class 08, a shutdown, too many clients):
  reconnect and retry;
* a transaction lost a race (deadlock 40P01, serialization failure 40001, a lock not
  granted within ``lock_timeout`` 55P03): retry on the same connection, it is not lost;
* the database refuses a value as data (class 22 data exception, class 23 integrity
  constraint violation): that record, and only that one, is set aside;
* anything else (a missing table, a read-only database, a missing privilege, a bug): not
  the data's fault, so nothing is set aside and nothing skipped: stop, report, retry.

``describe`` turns any of them into a short reason for an ops endpoint, never the raw
exception text (which may carry values or server internals).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

import psycopg
from psycopg import AsyncConnection

from store.errors import RefusedDataError

Conn = AsyncConnection[Any]
"""An async connection with tuple rows (the type every store function takes)."""


async def connect(url: str, *, connect_timeout_s: int = 5) -> Conn:
    """An autocommit connection: every write says where its transaction begins and ends
    (``async with conn.transaction()``), so nothing is left open by accident."""
    return await AsyncConnection.connect(url, autocommit=True, connect_timeout=connect_timeout_s)


class ErrorKind(StrEnum):
    CONNECTION_LOST = "connection_lost"
    CONFLICT = "conflict"
    REFUSED_DATA = "refused_data"
    FAULT = "fault"


# 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now, 53300 too many
# connections: a server restarting or full heals by itself.
_UNREACHABLE_STATES = frozenset({"57P01", "57P02", "57P03", "53300"})
_CONFLICT_STATES = frozenset({"40P01", "40001", "55P03"})


def _sqlstate(exc: BaseException) -> str:
    return getattr(exc, "sqlstate", None) or ""


def classify(exc: BaseException) -> ErrorKind:
    state = _sqlstate(exc)
    if isinstance(exc, RefusedDataError) or state[:2] in ("22", "23"):
        return ErrorKind.REFUSED_DATA
    if state in _CONFLICT_STATES:
        return ErrorKind.CONFLICT
    if state[:2] == "08" or state in _UNREACHABLE_STATES:
        return ErrorKind.CONNECTION_LOST
    if not state and isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        return ErrorKind.CONNECTION_LOST  # raised by the client: no server answered
    if not state and isinstance(exc, psycopg.DataError):
        return ErrorKind.REFUSED_DATA  # a value the client cannot send (out of range)
    return ErrorKind.FAULT


def is_connection_lost(exc: BaseException) -> bool:
    """True for errors that waiting and reconnecting can cure: the server shut down or
    restarted, the network dropped, too many clients."""
    return classify(exc) is ErrorKind.CONNECTION_LOST


def is_refused_data(exc: BaseException) -> bool:
    """True when the database refuses a value (SQLSTATE class 22, data exception, or 23,
    integrity constraint violation): the same rows would be refused again."""
    return classify(exc) is ErrorKind.REFUSED_DATA


_PERMISSION = re.compile(r"permission denied for (\w+) \"?([\w.]+)\"?")
_RELATION = re.compile(r"relation \"([\w.]+)\" does not exist")
_ROW_SECURITY = re.compile(r"row-level security policy for table \"([\w.]+)\"")

_FIXED_REASONS = {
    "25006": "database is read-only (a standby, or default_transaction_read_only is on)",
    "40P01": "deadlock with another writer (retrying)",
    "40001": "serialization failure (retrying)",
    "55P03": "lock not granted within lock_timeout (retrying)",
    "53100": "database disk full",
    "53200": "database out of memory",
    "57014": "statement cancelled (statement_timeout or an operator)",
}


def describe(exc: BaseException) -> str:
    """A short reason fit for an ops endpoint: what is wrong, in words, without the raw
    exception text. Table and privilege names are kept: they say what to mend."""
    kind = classify(exc)
    if kind is ErrorKind.CONNECTION_LOST:
        return "database unreachable"
    state = _sqlstate(exc)
    if state in _FIXED_REASONS:
        return _FIXED_REASONS[state]
    primary = _primary_message(exc)
    if state == "42501":
        policy = _ROW_SECURITY.search(primary)
        if policy:
            return f"row-level security refuses the sink's rows in {policy.group(1)}"
        found = _PERMISSION.search(primary)
        return (
            f"permission denied on {found.group(1)} {found.group(2)}"
            if found
            else ("permission denied")
        )
    if state == "42P01":
        found = _RELATION.search(primary)
        table = found.group(1) if found else "a table"
        return f"{table} does not exist (schema not migrated?)"
    if kind is ErrorKind.REFUSED_DATA:
        return f"value refused by the database ({state or type(exc).__name__})"
    if state:
        return f"database error {state} ({type(exc).__name__})"
    return f"unexpected error ({type(exc).__name__})"


def refusal_reason(exc: BaseException) -> str:
    """Why the database refused a record, for its dead letter: the SQLSTATE and the
    server's one-line message (it names the value's problem, e.g. an invalid byte)."""
    if isinstance(exc, RefusedDataError):
        return str(exc)
    state = _sqlstate(exc)
    primary = _primary_message(exc) or type(exc).__name__
    return f"refused by the database: {primary}" + (f" (SQLSTATE {state})" if state else "")


def _primary_message(exc: BaseException) -> str:
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    if primary:
        return str(primary)
    return str(exc).strip().splitlines()[0] if str(exc).strip() else ""
