"""The base of the events ingest publishes on its hot path: msgspec Structs.

AIS events (positions, static reports, safety messages, rejects) are the bulk of what
travels: tens of thousands a second per feed. They are defined once, here and in
``schemas.ais`` / ``schemas.safety``, as msgspec Structs whose field types carry their
constraints (``msgspec.Meta``: ranges, lengths, patterns, time zones), so one C-level pass
validates a producer's values (``validated``) and one decodes and validates a reader's
bytes (``schemas.envelope.decode_value``); cross-field rules live in ``__post_init__``,
which both passes run. The JSON is the same as pydantic wrote for the same fields (names,
order, values), so readers did not change. Pydantic stays where it serves (the API,
settings, alerts, configuration).

Two ways to build one, on purpose:

* ``Cls.validated(fields)``: a producer's values, checked against every constraint; an
  unknown field or a value out of range raises ``msgspec.ValidationError`` with the field
  and the reason ("Expected `float` <= 90.0 - at `$.lat`").
* ``Cls(**fields)``: values already known to be valid (a decoded copy, a test's fixture);
  only ``__post_init__``'s rules run. Unknown keyword arguments still raise ``TypeError``.

The Structs are ``gc=False``: they hold only scalars, strings, datetimes, tuples and other
such Structs, so they cannot form a cycle, and the collector never walks the millions a
replay creates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

import msgspec

from schemas.registry import register

EVENT_TIME_MIN = datetime(2000, 1, 1, tzinfo=UTC)
"""Earliest plausible event time (inclusive): AIS data older than this is a broken clock."""
EVENT_TIME_END = datetime(2100, 1, 1, tzinfo=UTC)
"""First implausible event time (exclusive)."""


class WireEvent(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Base of the msgspec-defined events. Subclasses name their CloudEvents type."""

    ce_type: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.ce_type:
            register(cls.ce_type, cls)

    @classmethod
    def validated(cls, fields: Mapping[str, Any]) -> Self:
        """An event of ``fields``, every constraint checked (the producer's one validation).
        Raises ``msgspec.ValidationError`` naming the field and what is wrong."""
        known = _FIELDS.get(cls)
        if known is None:
            known = _FIELDS[cls] = frozenset(cls.__struct_fields__)
        if not fields.keys() <= known:
            unknown = ", ".join(sorted(fields.keys() - known))
            raise msgspec.ValidationError(f"Object contains unknown field `{unknown}`")
        try:
            return msgspec.convert(fields, cls)
        except msgspec.ValidationError as exc:
            raise msgspec.ValidationError(_with_value(str(exc), fields)) from None

    def occurred_at(self) -> datetime | None:
        """The instant the event describes (overridden by payloads that have one)."""
        return None


def _with_value(message: str, fields: Mapping[str, Any]) -> str:
    """msgspec's message, led by the field and followed by the value sent, for a reader:
    "Expected `float` <= 90.0 - at `$.lat`" -> "lat: Expected `float` <= 90.0 (got 109.3)"."""
    found = _AT_FIELD.search(message)
    if found is None:
        return message
    name = found.group(1)
    return f"{name}: {message[: found.start()]} (got {fields.get(name)!r})"


_AT_FIELD = re.compile(r" - at `\$\.(\w+)`$")

_FIELDS: dict[type[WireEvent], frozenset[str]] = {}
"""Each class's field names (known once the class exists: not yet in ``__init_subclass__``)."""


def utc_event_time(event: WireEvent, name: str, value: datetime) -> None:
    """Check an event time is aware and plausible, and keep it in UTC (an offset such as
    +08:00 is converted; the instant is unchanged). For ``__post_init__``."""
    if value.tzinfo is not UTC:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name}: timestamp must carry a timezone (UTC expected)")
        value = value.astimezone(UTC)
        msgspec.structs.force_setattr(event, name, value)
    if not EVENT_TIME_MIN <= value < EVENT_TIME_END:
        raise ValueError(
            f"{name}: event time {value.isoformat()} is implausible: it must be in 2000-01-01 .. "
            "2099-12-31 UTC (a wrong receiver clock or capture timestamp)"
        )


def utc_time(event: WireEvent, name: str, value: datetime | None) -> None:
    """As ``utc_event_time`` without the plausibility range (a reception instant)."""
    if value is None or value.tzinfo is UTC:
        return
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name}: timestamp must carry a timezone (UTC expected)")
    msgspec.structs.force_setattr(event, name, value.astimezone(UTC))
