"""The cell stage's state: per partition of ``fusion.cells``, per grid cell, what the pair
detectors remember, with the offsets it reflects (checkpointed like the per-MMSI stage).

Plain ``msgspec`` structs; times are event times, POSIX seconds.
"""

from __future__ import annotations

import msgspec

from fusion.cells.wire import CellFix, CellMark, CellSighting
from fusion.tracks import OpenAlert


class Pair(msgspec.Struct):
    """Two vessels seen close and slow together in one cell (``a`` < ``b``)."""

    a: int
    b: int
    owner: bool
    """This cell holds the midpoint of their first contact: it alone raises the alert
    (every cell that sees the pair decides the same)."""
    since_t: float
    last_t: float
    first_a: CellFix
    first_b: CellFix
    last_a: CellFix
    last_b: CellFix
    distance_m: float
    min_distance_m: float


class CellState(msgspec.Struct, omit_defaults=True):
    slow: dict[int, CellFix] = msgspec.field(default_factory=dict)
    """Each vessel's latest fix that could be part of a rendezvous (slow, out of port,
    away from shore)."""
    pairs: dict[str, Pair] = msgspec.field(default_factory=dict)
    recent: dict[int, list[tuple[float, float, float]]] = msgspec.field(default_factory=dict)
    """(t, lat, lon) of each vessel's recent fixes, one per sampling interval, for the
    dark-target rule."""
    sightings: dict[str, CellSighting] = msgspec.field(default_factory=dict)
    """Sightings with an open dark-target alert still waiting for a matching position."""

    def empty(self) -> bool:
        return not (self.slow or self.pairs or self.recent or self.sightings)


class CellShardState(msgspec.Struct):
    """Everything the cell stage knows about partition ``shard`` of ``fusion.cells``."""

    shard: int
    offsets: dict[str, int] = msgspec.field(default_factory=dict)
    sources: dict[int, CellMark] = msgspec.field(default_factory=dict)
    """The latest mark of each per-MMSI partition."""
    mark_t: float | None = None
    """The watermark: positions before it have been released (it never moves back)."""
    pending: list[CellFix] = msgspec.field(default_factory=list)
    """Positions received, waiting for the watermark (the rendezvous rule reads them in
    event-time order, whichever per-MMSI partition they came from)."""
    cells: dict[str, CellState] = msgspec.field(default_factory=dict)
    alerts: dict[str, OpenAlert] = msgspec.field(default_factory=dict)
    late: int = 0

    def cell(self, name: str) -> CellState:
        found = self.cells.get(name)
        if found is None:
            found = self.cells[name] = CellState()
        return found


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(CellShardState)


def encode_cell_state(state: CellShardState) -> bytes:
    return _encoder.encode(state)


def decode_cell_state(raw: bytes) -> CellShardState:
    return _decoder.decode(raw)
