"""The distress detector's state: open incidents and the devices and reports in them.

Plain ``msgspec`` structs, part of a partition's ``ShardState`` and of its checkpoints.
Times are event times, POSIX seconds.
"""

from __future__ import annotations

import msgspec


class SeenDevice(msgspec.Struct, array_like=True):
    """The latest signal of one device (or report) in an incident."""

    kind: str
    t: float
    shard: int
    """The partition it arrives on: only that partition's watermark judges its silence."""
    lat: float | None = None
    lon: float | None = None


class Incident(msgspec.Struct, omit_defaults=True):
    """People in danger at one place: one distress alert, whatever joins it later."""

    subject: str
    """The alert's subject, from the first signal: the alert id never changes."""
    started_t: float
    last_t: float
    lat: float | None = None
    lon: float | None = None
    active: dict[str, SeenDevice] = msgspec.field(default_factory=dict)
    """Devices and reports heard within the silence limit, by key (``mmsi:970…``)."""
    seen: list[str] = msgspec.field(default_factory=list)
    """Every device or report that was ever part of it."""
    kinds: list[str] = msgspec.field(default_factory=list)
    persons: int | None = None
    texts: list[str] = msgspec.field(default_factory=list)
    source_agency: str | None = None


class DistressState(msgspec.Struct):
    incidents: dict[str, Incident] = msgspec.field(default_factory=dict)
    """Open incidents, by subject."""
