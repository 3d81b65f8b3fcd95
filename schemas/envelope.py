"""The event envelope: JSON values with CloudEvents 1.0 attributes in Kafka headers.

Binary content mode of the CloudEvents Kafka protocol binding: the value is the event
data (JSON), and the context attributes travel as headers ``ce_id``, ``ce_type``,
``ce_source``, ``ce_time``, ``ce_specversion`` (plus ``ce_subject``) and ``content-type``.
Any Kafka tool in any language can read them. Schemas are versioned by ``ce_type``
(``lookout.ais.position.v1``): a breaking change is a new type, readers choose by type.
"""

from __future__ import annotations

import functools
import itertools
import os
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, TypeVar

import msgspec
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from schemas.registry import EnvelopeError as EnvelopeError
from schemas.registry import known_event_types as known_event_types
from schemas.registry import register, registered
from schemas.units import UtcDatetime
from schemas.wire_event import WireEvent

SPECVERSION: Literal["1.0"] = "1.0"
CONTENT_TYPE = "application/json"


class Event(BaseModel):
    """Base of every payload on the bus. Subclasses name their CloudEvents type."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ce_type: ClassVar[str] = ""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if cls.ce_type:
            register(cls.ce_type, cls)

    def occurred_at(self) -> datetime | None:
        """The instant the event describes (overridden by payloads that have one)."""
        return None


Payload = Event | WireEvent
"""Anything the bus carries as an event: a pydantic ``Event`` or a msgspec ``WireEvent``."""


def event_class(ce_type: str) -> type[Event] | type[WireEvent]:
    cls: type[Event] | type[WireEvent] = registered(ce_type)
    return cls


class CloudEventAttributes(BaseModel):
    """CloudEvents 1.0 context attributes of one event."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="Unique per source; consumers deduplicate on (source, id).")
    type: str = Field(description="Versioned event type, e.g. lookout.ais.position.v1.")
    source: str = Field(description="URI-reference of the producer, e.g. /ingest/tcp/aishub.")
    time: UtcDatetime = Field(description="When the occurrence happened (event time), UTC.")
    specversion: Literal["1.0"] = SPECVERSION
    datacontenttype: str = CONTENT_TYPE
    subject: str | None = None

    def to_headers(self) -> list[tuple[str, bytes]]:
        headers = [
            ("ce_specversion", self.specversion.encode()),
            ("ce_id", self.id.encode()),
            ("ce_type", self.type.encode()),
            ("ce_source", self.source.encode()),
            ("ce_time", _rfc3339(self.time).encode()),
            ("content-type", self.datacontenttype.encode()),
        ]
        if self.subject is not None:
            headers.append(("ce_subject", self.subject.encode()))
        return headers

    @classmethod
    def from_headers(cls, headers: Iterable[tuple[str, bytes]]) -> CloudEventAttributes:
        found = {name: value.decode("utf-8", "replace") for name, value in headers}
        missing = [h for h in ("ce_id", "ce_type", "ce_source", "ce_time") if h not in found]
        if missing:
            raise EnvelopeError(f"missing CloudEvents headers: {', '.join(missing)}")
        try:
            return cls(
                id=found["ce_id"],
                type=found["ce_type"],
                source=found["ce_source"],
                time=datetime.fromisoformat(found["ce_time"].replace("Z", "+00:00")),
                specversion=found.get("ce_specversion", SPECVERSION),
                datacontenttype=found.get("content-type", CONTENT_TYPE),
                subject=found.get("ce_subject"),
            )
        except (ValueError, ValidationError) as exc:
            raise EnvelopeError(f"bad CloudEvents headers: {exc}") from exc


_REQUIRED_HEADERS = ("ce_id", "ce_type", "ce_source", "ce_time")


@functools.lru_cache(maxsize=1024)
def _check_attributes(time: bytes, specversion: bytes) -> None:
    """Raise the ``EnvelopeError`` ``CloudEventAttributes.from_headers`` would for these
    values. Only they can fail validation (id, type, source, subject and content type are
    any string), and a batch's records share a handful of them, so the verdict is kept."""
    CloudEventAttributes.from_headers(
        (
            ("ce_id", b"-"),
            ("ce_type", b"-"),
            ("ce_source", b"-"),
            ("ce_time", time),
            ("ce_specversion", specversion),
        )
    )


def event_type_of(headers: Iterable[tuple[str, bytes]]) -> str:
    """The ``ce_type`` of a record whose headers ``CloudEventAttributes.from_headers``
    accepts, raising the same ``EnvelopeError`` where it would not: the read path's check
    of the envelope without building the attributes model per record."""
    found = dict(headers)
    ce_type = found.get("ce_type")
    ce_time = found.get("ce_time")
    if ce_type is None or ce_time is None or "ce_id" not in found or "ce_source" not in found:
        missing = [h for h in _REQUIRED_HEADERS if h not in found]
        raise EnvelopeError(f"missing CloudEvents headers: {', '.join(missing)}")
    _check_attributes(ce_time, found.get("ce_specversion", b"1.0"))
    return ce_type.decode("utf-8", "replace")


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


Header = tuple[str, bytes]

_SPECVERSION_HEADER: Header = ("ce_specversion", SPECVERSION.encode())
_CONTENT_TYPE_HEADER: Header = ("content-type", CONTENT_TYPE.encode())
_constant_headers: dict[tuple[str, str], tuple[Header, Header]] = {}

# Event ids: a random per-process UUID4 prefix (60 random bits) and a counter in the last
# 64 bits (with the RFC 4122 variant bits set), so every id is a well-formed UUID string,
# unique per source, without a call to os.urandom per event.
_ID_PREFIX = str(uuid.uuid4())[:18]  # 'xxxxxxxx-xxxx-4xxx'
_id_counter = itertools.count()
_ID_VARIANT = 0x8000_0000_0000_0000
_ID_MASK = 0x3FFF_FFFF_FFFF_FFFF
_LOW48 = 0xFFFF_FFFF_FFFF


def _new_id_prefix() -> None:
    global _ID_PREFIX
    _ID_PREFIX = str(uuid.uuid4())[:18]


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_id_prefix)  # a forked child is another producer

_last_time: tuple[datetime | None, Header] = (None, ("ce_time", b""))


def new_event_id() -> str:
    """A fresh event id: UUID-formatted, unique within this process and across processes
    (random prefix), far cheaper than ``uuid.uuid4()``."""
    n = (next(_id_counter) & _ID_MASK) | _ID_VARIANT
    return f"{_ID_PREFIX}-{n >> 48:04x}-{n & _LOW48:012x}"


def constant_headers(ce_type: str, source: str) -> tuple[Header, ...]:
    """The headers every event of one type from one source shares, in ``headers_for``'s
    order around the id: (``ce_specversion``,) before it, then ``ce_type``, ``ce_source``."""
    return (
        _SPECVERSION_HEADER,
        ("ce_type", ce_type.encode()),
        ("ce_source", source.encode()),
    )


CONTENT_TYPE_HEADER = _CONTENT_TYPE_HEADER


def time_header(moment: datetime) -> Header:
    """``ce_time`` of an event time (see ``headers_for``)."""
    return _time_header(moment)


def _time_header(moment: datetime) -> Header:
    """``ce_time`` for ``moment``; consecutive events of one batch usually share their
    reception instant (the same object), so the last one is remembered."""
    global _last_time
    last = _last_time
    if moment is last[0]:
        return last[1]
    if moment.tzinfo is None:
        raise EnvelopeError("event time must carry a timezone (UTC expected)")
    header = ("ce_time", _rfc3339(moment).encode())
    _last_time = (moment, header)
    return header


def headers_for(
    payload: Payload,
    *,
    source: str,
    event_id: str | None = None,
    subject: str | None = None,
) -> list[Header]:
    """The CloudEvents headers of ``payload``, byte-identical to
    ``attributes_for(...).to_headers()`` but built directly: every value is ours (the
    type is the class's, the source the bus's, the time the validated payload's), so
    there is nothing to validate per message. Use ``CloudEventAttributes`` to read them."""
    ce_type = payload.ce_type
    constant = _constant_headers.get((ce_type, source))
    if constant is None:
        if not ce_type:
            raise EnvelopeError(f"{type(payload).__name__} has no ce_type")
        constant = (("ce_type", ce_type.encode()), ("ce_source", source.encode()))
        _constant_headers[(ce_type, source)] = constant
    moment = payload.occurred_at() or datetime.now(UTC)
    headers = [
        _SPECVERSION_HEADER,
        ("ce_id", (event_id or new_event_id()).encode()),
        constant[0],
        constant[1],
        _time_header(moment),
        _CONTENT_TYPE_HEADER,
    ]
    if subject is not None:
        headers.append(("ce_subject", subject.encode()))
    return headers


def attributes_for(
    payload: Payload,
    *,
    source: str,
    event_id: str | None = None,
    subject: str | None = None,
    time: datetime | None = None,
) -> CloudEventAttributes:
    """Attributes for a payload; the id defaults to a fresh UUID, time to the payload's."""
    if not payload.ce_type:
        raise EnvelopeError(f"{type(payload).__name__} has no ce_type")
    return CloudEventAttributes(
        id=event_id or new_event_id(),
        type=payload.ce_type,
        source=source,
        time=time or payload.occurred_at() or datetime.now(UTC),
        subject=subject,
    )


E = TypeVar("E", bound=Event | WireEvent)

_wire_encoder = msgspec.json.Encoder()
_wire_decoders: dict[type[WireEvent], msgspec.json.Decoder[Any]] = {}


def encode_value(payload: Payload) -> bytes:
    """The JSON value. A ``WireEvent`` through msgspec; an ``Event`` as
    ``payload.model_dump_json()`` as UTF-8, straight from pydantic's serialiser (no str
    round trip). Both write every field, in order, ``null`` for None."""
    if isinstance(payload, WireEvent):
        return _wire_encoder.encode(payload)
    return type(payload).__pydantic_serializer__.to_json(payload)


def decode_value(attributes: CloudEventAttributes | str, value: bytes, expected: type[E]) -> E:
    """Parse a record's value as ``expected``; the header's type must name that class.

    Readers are tolerant, writers strict (ARCHITECTURE.md): fields this version does not
    know are ignored, at every depth, so a producer upgraded first (adding an optional
    field, the normal rolling order) is still read. Constructing an event keeps refusing
    unknown fields: a producer cannot send a field by mistake. One schema, two modes
    of validation, chosen per call."""
    ce_type = attributes if isinstance(attributes, str) else attributes.type
    wire_decode = _wire_readers.get((ce_type, expected))
    if wire_decode is not None:  # the hot path: a wire event of a type already read
        try:
            event: E = wire_decode(value)
        except msgspec.DecodeError as exc:  # ValidationError is a DecodeError
            raise EnvelopeError(f"invalid {ce_type} value: {exc}") from exc
        return event
    cls = event_class(ce_type)
    if not issubclass(cls, expected):
        raise EnvelopeError(f"event type {ce_type!r} is not a {expected.__name__}")
    if issubclass(cls, WireEvent):
        decoder = _wire_decoders.get(cls)
        if decoder is None:
            decoder = _wire_decoders[cls] = msgspec.json.Decoder(cls)
        _wire_readers[(ce_type, expected)] = decoder.decode
        return decode_value(ce_type, value, expected)
    try:
        return cls.model_validate_json(value, extra="ignore")
    except ValidationError as exc:
        raise EnvelopeError(f"invalid {ce_type} value: {_summary(exc)}") from exc


_wire_readers: dict[tuple[str, type], Callable[[bytes], Any]] = {}
"""(ce_type, expected class) -> the msgspec decode of a pair already checked (the type is
known and is an ``expected``): one dict lookup per record instead of four checks."""


def _summary(exc: ValidationError, most: int = 5) -> str:
    """``field: message`` per error, on one line (a reason for a dead letter or a log)."""
    errors = exc.errors(include_url=False, include_input=False)
    parts = [f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in errors]
    more = f" (and {len(parts) - most} more)" if len(parts) > most else ""
    return "; ".join(parts[:most]) + more
