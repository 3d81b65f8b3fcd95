"""Per-partition fusion state: vessel tracks, open alerts, timers and station liveness.

Everything here is a ``msgspec.Struct`` so one partition's state encodes to JSON and back
exactly (checkpoints). Times are event times as POSIX seconds (floats round-trip exactly).
"""

from __future__ import annotations

from typing import Any

import msgspec

from fusion.distress_state import DistressState


class Fix(msgspec.Struct, array_like=True):
    """One position of a vessel, as used by the detectors."""

    t: float
    lat: float
    lon: float
    speed_kn: float | None = None
    station: str | None = None


class Identity(msgspec.Struct, omit_defaults=True):
    """What static reports said about a vessel (type 5 / 24)."""

    name: str | None = None
    callsign: str | None = None
    imo: int | None = None
    ship_type: int | None = None


class Track(msgspec.Struct, omit_defaults=True):
    """One vessel's story in this partition."""

    mmsi: int
    last: Fix | None = None
    identity: Identity = msgspec.field(default_factory=Identity)
    zones: dict[str, float] = msgspec.field(default_factory=dict)
    """Zones the vessel is inside -> event time it entered."""
    slow_since: Fix | None = None
    """First fix of the current run of slow fixes far from shore (loitering)."""
    slow_last: Fix | None = None
    slow_shore_nm: float | None = None
    """Nearest the run of slow fixes came to shore, nm."""
    last_jump_t: float | None = None
    """Event time of the latest impossible jump (spoofing)."""
    gap_shore_nm: float | None = None
    """Distance to shore of ``last`` (judged when the fix arrived; the gap rule needs it)."""
    gap_in_port: bool = False
    gap_zone: str | None = None
    """A zone the last fix is in whose rules ask for a shorter gap (``GeofenceRules.gap_s``)."""
    gap_zone_s: float | None = None
    gap_due: float | None = None
    """The deadline of this vessel's live entry in ``ShardState.gap_timers`` (one per vessel,
    moved on when it comes due, not one per position)."""
    watch: list[str] = msgspec.field(default_factory=list)
    """Watchlist entries this vessel matched (their alerts follow its position)."""


class OpenAlert(msgspec.Struct):
    """An alert the engine has opened and not closed, with its latest published fields."""

    alert_id: str
    rule: str
    subject: str
    started_t: float
    published_t: float
    fields: dict[str, Any]


class StationLife(msgspec.Struct, array_like=True):
    """When a receiving station was last heard, and its recent long silences."""

    last_t: float
    silences: list[tuple[float, float]] = msgspec.field(default_factory=list)


class ShardState(msgspec.Struct):
    """Everything fusion knows about partition ``shard`` of the co-keyed topics, and the
    offsets (next to read, per topic) that it reflects."""

    shard: int
    offsets: dict[str, int] = msgspec.field(default_factory=dict)
    max_event_t: float | None = None
    tracks: dict[int, Track] = msgspec.field(default_factory=dict)
    alerts: dict[str, OpenAlert] = msgspec.field(default_factory=dict)
    gap_timers: list[tuple[float, int]] = msgspec.field(default_factory=list)
    """A heap of (deadline, MMSI): when the watermark passes it, that vessel may be silent
    (``Track.gap_due`` says which entry is live)."""
    stations: dict[str, StationLife] = msgspec.field(default_factory=dict)
    late: int = 0
    distress: DistressState = msgspec.field(default_factory=DistressState)
    """Open distress incidents (fusion/detectors/distress.py)."""

    def track(self, mmsi: int) -> Track:
        track = self.tracks.get(mmsi)
        if track is None:
            track = self.tracks[mmsi] = Track(mmsi)
        return track


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(ShardState)


def encode_state(state: ShardState) -> bytes:
    return _encoder.encode(state)


def decode_state(raw: bytes) -> ShardState:
    return _decoder.decode(raw)
