"""Event types by ``ce_type``: every payload class registers itself here when defined,
pydantic (``schemas.envelope.Event``) and msgspec (``schemas.wire_event.WireEvent``) alike,
so a reader finds the class a record's header names."""

from __future__ import annotations

from collections.abc import Sequence


class EnvelopeError(ValueError):
    """A record whose headers or value cannot be read as a Lookout event."""


_registry: dict[str, type] = {}


def register(ce_type: str, cls: type) -> None:
    known = _registry.get(ce_type)
    if known is not None and known.__qualname__ != cls.__qualname__:
        raise TypeError(f"ce_type {ce_type!r} is already used by {known.__name__}")
    _registry[ce_type] = cls


def registered(ce_type: str) -> type:
    try:
        return _registry[ce_type]
    except KeyError:
        raise EnvelopeError(f"unknown event type {ce_type!r}") from None


def known_event_types() -> Sequence[str]:
    return sorted(_registry)
