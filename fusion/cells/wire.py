"""What travels on ``fusion.cells``: positions and sightings placed in a grid cell.

Fusion's own internal topic, written by the per-MMSI stage and read by the cell stage, so
both sides are here (msgspec, compact arrays: every vessel position passes through it).
Records carry the CloudEvents headers of every Lookout topic, so any Kafka tool can read
them.

Version 2 (``lookout.fusion.cells.v2``, written): one message per (cell partition,
per-MMSI batch), a ``CellBatch`` holding that batch's positions for the partition's cells
as columns, the sightings among them and the batch's marks last. Its partition is chosen
here from each cell's name, as Kafka's default partitioner would choose it for a message
keyed by the name (murmur2), so a cell keeps the partition it had in version 1 and order
within a cell is kept. One message instead of ~2 per position: building, heading and
decoding a message per cell record cost more than the pair detectors themselves (see
bench/RESULTS.md, "Fusion, both stages").

Version 1 (``lookout.fusion.cell.v1``, still read, no longer written): one record a
message (``CellFix``, ``CellSighting`` or ``CellMark``), keyed by the cell's name; a
topic left holding some at an upgrade is read on as before.

A position carries what only the per-MMSI stage knows: the vessel's ship type and whether
it is watchlisted (from its track), its distance to shore and whether it is in port, and
the rendezvous rule of a zone it is in (from the batch geometry).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

import msgspec
from aiokafka.partitioner import murmur2

from bus.base import Outgoing, Record

CELL_TYPE = "lookout.fusion.cell.v1"
CELL_BATCH_TYPE = "lookout.fusion.cells.v2"
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


class CellBatch(msgspec.Struct, array_like=True, tag="b"):
    """What one per-MMSI batch sends to one partition of ``fusion.cells``, in its order.

    Positions as columns (one entry per position: ``mmsi`` ... ``rendezvous_s``, as in
    ``CellFix``); then the cell fixes, each a position in a cell (``row``: its position,
    ``cell``: its cell, an index into ``cells``), in the order the per-MMSI stage routed
    them; ``sightings``, each applied after the first ``after[i]`` cell fixes; ``marks``
    after everything else."""

    cells: list[str] = msgspec.field(default_factory=list)
    mmsi: list[int] = msgspec.field(default_factory=list)
    t: list[float] = msgspec.field(default_factory=list)
    lat: list[float] = msgspec.field(default_factory=list)
    lon: list[float] = msgspec.field(default_factory=list)
    speed_kn: list[float | None] = msgspec.field(default_factory=list)
    shore_nm: list[float | None] = msgspec.field(default_factory=list)
    in_port: list[bool] = msgspec.field(default_factory=list)
    ship_type: list[int | None] = msgspec.field(default_factory=list)
    watchlisted: list[bool] = msgspec.field(default_factory=list)
    rendezvous_m: list[float | None] = msgspec.field(default_factory=list)
    rendezvous_s: list[float | None] = msgspec.field(default_factory=list)
    name: list[str | None] = msgspec.field(default_factory=list)
    row: list[int] = msgspec.field(default_factory=list)
    cell: list[int] = msgspec.field(default_factory=list)
    sightings: list[CellSighting] = msgspec.field(default_factory=list)
    after: list[int] = msgspec.field(default_factory=list)
    marks: list[CellMark] = msgspec.field(default_factory=list)

    def check(self) -> str | None:
        """Why the batch cannot be applied (columns of unequal length, an index out of
        range), or None."""
        n = len(self.mmsi)
        columns = (
            self.t,
            self.lat,
            self.lon,
            self.speed_kn,
            self.shore_nm,
            self.in_port,
            self.ship_type,
            self.watchlisted,
            self.rendezvous_m,
            self.rendezvous_s,
            self.name,
        )
        if any(len(c) != n for c in columns):
            return "position columns of unequal length"
        if len(self.row) != len(self.cell):
            return "cell fixes: row and cell of unequal length"
        if self.row and (min(self.row) < 0 or max(self.row) >= n):
            return "cell fixes: a row out of range"
        if self.cell and (min(self.cell) < 0 or max(self.cell) >= len(self.cells)):
            return "cell fixes: a cell out of range"
        if len(self.after) != len(self.sightings):
            return "sightings and their places of unequal length"
        if any(a < 0 or a > len(self.row) for a in self.after) or self.after != sorted(self.after):
            return "a sighting's place out of range or order"
        return None

    def fixes(self) -> list[CellFix]:
        """The cell fixes as records, in order (the cell stage's record-at-a-time path)."""
        cells, mmsi, t, lat, lon = self.cells, self.mmsi, self.t, self.lat, self.lon
        speed, shore, port, ship = self.speed_kn, self.shore_nm, self.in_port, self.ship_type
        watch, rv_m, rv_s, name = self.watchlisted, self.rendezvous_m, self.rendezvous_s, self.name
        return [
            CellFix(
                cells[c],
                mmsi[r],
                t[r],
                lat[r],
                lon[r],
                speed[r],
                shore[r],
                port[r],
                ship[r],
                watch[r],
                rv_m[r],
                rv_s[r],
                name[r],
            )
            for r, c in zip(self.row, self.cell, strict=True)
        ]


def batch_of(records: Sequence[CellRecord]) -> CellBatch:
    """The version-2 batch of these records, in their order (marks must come last): what
    the per-MMSI stage would send for them, one position per cell fix."""
    batch = CellBatch()
    for record in records:
        if isinstance(record, CellMark):
            batch.marks.append(record)
            continue
        if batch.marks:
            raise ValueError("a batch's marks come after its positions and sightings")
        if isinstance(record, CellSighting):
            batch.sightings.append(record)
            batch.after.append(len(batch.row))
            continue
        if record.cell not in batch.cells:
            batch.cells.append(record.cell)
        batch.row.append(len(batch.mmsi))
        batch.cell.append(batch.cells.index(record.cell))
        batch.mmsi.append(record.mmsi)
        batch.t.append(record.t)
        batch.lat.append(record.lat)
        batch.lon.append(record.lon)
        batch.speed_kn.append(record.speed_kn)
        batch.shore_nm.append(record.shore_nm)
        batch.in_port.append(record.in_port)
        batch.ship_type.append(record.ship_type)
        batch.watchlisted.append(record.watchlisted)
        batch.rendezvous_m.append(record.rendezvous_m)
        batch.rendezvous_s.append(record.rendezvous_s)
        batch.name.append(record.name)
    return batch


_encoder = msgspec.json.Encoder()
_decoder: msgspec.json.Decoder[CellRecord] = msgspec.json.Decoder(CellRecord)
_batch_decoder = msgspec.json.Decoder(CellBatch)
_partitions: dict[tuple[str, int], int] = {}


def cell_partition(cell: str, partitions: int) -> int:
    """The partition of ``fusion.cells`` that holds ``cell``: the one Kafka's default
    partitioner gives a message keyed by the cell's name (murmur2, as version 1 was sent),
    remembered per cell."""
    found = _partitions.get((cell, partitions))
    if found is None:
        if len(_partitions) > 1_000_000:  # a grid of many cells, many partition counts
            _partitions.clear()
        found = (murmur2(cell.encode()) & 0x7FFFFFFF) % partitions
        _partitions[(cell, partitions)] = found
    return found


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


def batch_outgoing(topic: str, batch: CellBatch, partition: int) -> Outgoing:
    """The message for ``batch``, to ``partition``. Its ce_id is a digest of its body, so
    the same batch republished has the same id."""
    raw = _encoder.encode(batch)
    times = [m.mark for m in batch.marks if m.mark is not None] or batch.t[-1:]
    headers = (
        ("ce_specversion", b"1.0"),
        ("ce_id", hashlib.blake2b(raw, digest_size=16).hexdigest().encode()),
        ("ce_type", _BATCH_TYPE_BYTES),
        ("ce_source", _SOURCE),
        ("ce_time", _time(max(times, default=0.0))),
        ("content-type", b"application/json"),
    )
    return Outgoing(
        topic, f"cells:{partition}", None, headers=headers, raw=raw, partition=partition
    )


_TYPE_BYTES = CELL_TYPE.encode()
_BATCH_TYPE_BYTES = CELL_BATCH_TYPE.encode()


def read_cell(record: Record) -> CellRecord | CellBatch:
    """The record's content (version 2: a batch; version 1: one record); a record of
    another type or version, or one that does not decode, is a ``CellWireError``."""
    found = None
    for name, value in record.headers:
        if name == "ce_type":
            found = value
            break
    if found != _BATCH_TYPE_BYTES and found != _TYPE_BYTES:
        raise CellWireError(f"event type {found!r} is not {CELL_BATCH_TYPE!r} or {CELL_TYPE!r}")
    if record.value is None:
        raise CellWireError("a tombstone on a time-based topic")
    try:
        if found == _TYPE_BYTES:
            return _decoder.decode(record.value)
        batch = _batch_decoder.decode(record.value)
    except msgspec.DecodeError as exc:  # ValidationError is a DecodeError
        raise CellWireError(f"invalid {found.decode(errors='replace')}: {exc}") from exc
    problem = batch.check()
    if problem is not None:
        raise CellWireError(f"invalid {CELL_BATCH_TYPE}: {problem}")
    return batch
