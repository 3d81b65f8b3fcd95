"""What travels on ``fusion.cells``: positions and sightings placed in a grid cell.

Fusion's own internal topic, written by the per-MMSI stage and read by the cell stage, so
both sides are here (msgspec, compact arrays: every vessel position passes through it).
Records carry the CloudEvents headers of every Lookout topic, so any Kafka tool can read
them; the key is the cell's name.

A position carries what only the per-MMSI stage knows: the vessel's ship type and whether
it is watchlisted (from its track), its distance to shore and whether it is in port, and
the rendezvous rule of a zone it is in (from the batch geometry).
"""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from bus.base import Outgoing, Record

CELL_TYPE = "lookout.fusion.cell.v1"
_SOURCE = b"/lookout/fusion"


class CellFix(msgspec.Struct, array_like=True, tag="p", frozen=True):
    """One vessel position as the cell ``cell`` sees it."""

    cell: str
    mmsi: int
    t: float
    lat: float
    lon: float
    speed_kn: float | None = None
    shore_nm: float | None = None
    in_port: bool = False
    ship_type: int | None = None
    watchlisted: bool = False
    rendezvous_m: float | None = None
    """A zone's rendezvous distance where the vessel is (None: the global rule)."""
    rendezvous_s: float | None = None
    name: str | None = None
    """The vessel's AIS name as known when the position was applied (for the title); last,
    so records written before it existed still decode."""


class CellSighting(msgspec.Struct, array_like=True, tag="s", frozen=True):
    """A patrol or community sighting (never its narrative, reporter or notes)."""

    cell: str
    report_id: str
    agency: str
    t: float
    """When the vessel was seen (the report's observed_at), POSIX s."""
    lat: float
    lon: float
    uncertainty_m: float = 1000.0
    activity: str = "unknown"
    persons_on_board: int | None = None


class CellMark(msgspec.Struct, array_like=True, tag="m", frozen=True):
    """A per-MMSI partition's promise to every cell partition: no position it sends from
    now on is older than ``mark`` (its watermark). ``idle``: it has nothing more to send
    for now (its mark still holds). The cell stage's watermark is the lowest mark of the
    partitions that have one, once it has heard from all of them, so it releases positions
    in event-time order whichever partition ran ahead."""

    source: int
    sources: int
    """How many partitions the per-MMSI stage reads (``ais.positions``)."""
    mark: float | None
    idle: bool = False


CellRecord = CellFix | CellSighting | CellMark

_encoder = msgspec.json.Encoder()
_decoder: msgspec.json.Decoder[CellRecord] = msgspec.json.Decoder(CellRecord)


class CellWireError(ValueError):
    """A record on the cell topic that the cell stage cannot read."""


def _time(t: float) -> bytes:
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z").encode()


def cell_outgoing(topic: str, record: CellRecord, partition: int | None = None) -> Outgoing:
    """The message for ``record``, keyed by its cell (a mark goes to ``partition``); its
    ce_id names what it is, so a record republished by the per-MMSI stage after a restart
    has the same id."""
    if isinstance(record, CellFix):
        ident, key, t = f"{record.cell}|{record.mmsi}|{record.t!r}", record.cell, record.t
    elif isinstance(record, CellSighting):
        ident, key, t = f"{record.cell}|{record.report_id}", record.cell, record.t
    else:
        ident = f"mark|{record.source}|{record.mark!r}|{record.idle}"
        key, t = f"mark:{record.source}", record.mark or 0.0
    headers = (
        ("ce_specversion", b"1.0"),
        ("ce_id", ident.encode()),
        ("ce_type", CELL_TYPE.encode()),
        ("ce_source", _SOURCE),
        ("ce_time", _time(t)),
        ("content-type", b"application/json"),
    )
    return Outgoing(
        topic, key, None, headers=headers, raw=_encoder.encode(record), partition=partition
    )


def read_cell(record: Record) -> CellRecord:
    found = None
    for name, value in record.headers:
        if name == "ce_type":
            found = value
            break
    if found != CELL_TYPE.encode():
        raise CellWireError(f"event type {found!r} is not {CELL_TYPE!r}")
    if record.value is None:
        raise CellWireError("a tombstone on a time-based topic")
    try:
        return _decoder.decode(record.value)
    except msgspec.DecodeError as exc:  # ValidationError is a DecodeError
        raise CellWireError(f"invalid {CELL_TYPE}: {exc}") from exc
