"""Event ids (``ce_id``) derived from what was received, not drawn at random.

An event's id is the UUID 5 of its source, its raw sentence(s) and its event time, so the
same reception gives the same id however often it is published: a batch published again
after a bus failure, a capture replayed, an ingest restarted on the same input. Consumers
deduplicate on (source, id), as the CloudEvents envelope promises. Byte-identical
sentences with the same event time are one event (a receiver's echo), and get one id.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime

EVENT_ID_NAMESPACE = uuid.UUID("6f1c2a8e-4b7d-5e0a-9c3f-1d2e3f405162")
"""The UUID 5 namespace of Lookout ingest's event ids (fixed: changing it changes every id)."""

_SEED = hashlib.sha1(EVENT_ID_NAMESPACE.bytes, usedforsecurity=False)
_VARIANT = {c: format(int(c, 16) & 0x3 | 0x8, "x") for c in "0123456789abcdef"}
"""The hex digit at the RFC 4122 variant position, with the variant bits (10xx) set."""


class EventIds:
    """The event ids of one source. Per event: one SHA-1 over one bytes object, and the
    UUID text cut from the hex digest (building a ``uuid.UUID`` and setting its version and
    variant bits as integers cost twice as much; ids were a tenth of ingest's time). The
    event time's ISO text is remembered: a batch's events mostly share their instant."""

    def __init__(self, source: str) -> None:
        self._prefix = source.encode() + b"\n"
        self._last_time: datetime | None = None
        self._last_iso = b""

    def of(self, raw: Sequence[bytes], event_time: datetime, kind: str = "") -> str:
        """``str(uuid.uuid5(EVENT_ID_NAMESPACE, name))`` for the name: the source, the raw
        lines and the event time (ISO 8601), joined by newlines (and ``kind``, when one
        message gives a second event: a type 19's identity beside its position)."""
        if event_time is not self._last_time:
            self._last_time = event_time
            self._last_iso = event_time.isoformat().encode()
        name = self._prefix + (raw[0] if len(raw) == 1 else b"\n".join(raw))
        name += b"\n" + self._last_iso
        if kind:
            name += b"\n" + kind.encode()
        h = _SEED.copy()
        h.update(name)
        x = h.hexdigest()
        return f"{x[:8]}-{x[8:12]}-5{x[13:16]}-{_VARIANT[x[16]]}{x[17:20]}-{x[20:32]}"


def event_id(source: str, raw: Sequence[bytes], event_time: datetime, kind: str = "") -> str:
    """The id ``EventIds(source).of(raw, event_time, kind)`` gives (one-off use)."""
    return EventIds(source).of(raw, event_time, kind)
