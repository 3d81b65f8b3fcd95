"""The per-MMSI stage's side of ``fusion.cells``: one batch's positions and sightings,
placed in their grid cells, as one message per cell partition (``CellBatch``).

Positions are collected as they pass the per-MMSI detectors (a tuple each: the cheapest
thing to keep in the hot loop); the cells of the whole batch are then found with numpy
(``fusion.geo.cells.cells_near_many``) and each partition's share is cut out as columns.
The order the cell stage sees within a partition is the order of routing: a sighting
stays after the positions routed before it, the marks come last.
"""

from __future__ import annotations

import numpy as np

from bus.base import Outgoing
from fusion.cells.wire import CellBatch, CellMark, CellSighting, batch_outgoing, cell_partition
from fusion.geo.cells import cells_near_many
from fusion.metrics import CELL_RECORDS

Row = tuple[
    int,  # mmsi
    float,  # t
    float,  # lat
    float,  # lon
    float | None,  # speed_kn
    float | None,  # shore_nm
    bool,  # in_port
    int | None,  # ship_type
    bool,  # watchlisted
    float | None,  # rendezvous_m
    float | None,  # rendezvous_s
]
"""A position as the cell stage needs it, in ``CellFix``'s field order (without cell)."""


class CellRouter:
    """Collects one per-MMSI batch for the cell stage; ``take`` makes the messages."""

    def __init__(self, cell_deg: float) -> None:
        self.cell_deg = cell_deg
        self.rows: list[Row] = []
        self.sightings: list[tuple[int, CellSighting]] = []
        """Each sighting with the number of positions routed before it."""
        self._names: dict[int, str] = {}

    def sighting(self, sighting: CellSighting) -> None:
        self.sightings.append((len(self.rows), sighting))

    def _name(self, row: int, col: int) -> str:
        key = row * 4_294_967_296 + col
        found = self._names.get(key)
        if found is None:
            if len(self._names) > 1_000_000:
                self._names.clear()
            found = self._names[key] = f"{row}:{col}"
        return found

    def take(
        self, topic: str, partitions: int, margin_m: float, marks: list[CellMark]
    ) -> list[Outgoing]:
        """The messages for what was collected since the last call: one per partition
        that has positions or sightings, and one to every partition when there are
        marks (``partitions`` 0: not known, everything to partition 0)."""
        rows, sightings = self.rows, self.sightings
        self.rows, self.sightings = [], []
        parts = max(1, partitions)
        batches: dict[int, CellBatch] = {}
        placed: dict[int, np.ndarray] = {}
        """Per partition, the position index of each of its cell fixes, in order."""
        if rows:
            columns = list(zip(*rows, strict=True))
            lat = np.array(columns[2], dtype=np.float64)
            lon = np.array(columns[3], dtype=np.float64)
            at, cell_rows, cell_cols = cells_near_many(lat, lon, margin_m, self.cell_deg)
            keys = cell_rows * 4_294_967_296 + cell_cols
            _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
            names = [
                self._name(r, c)
                for r, c in zip(cell_rows[first].tolist(), cell_cols[first].tolist(), strict=True)
            ]
            part = np.array([cell_partition(n, parts) for n in names], dtype=np.int64)[inverse]
            arrays = [np.array(c, dtype=object) for c in columns]
            for p in np.unique(part).tolist():
                sel = np.flatnonzero(part == p)
                positions = at[sel]
                used, row = np.unique(positions, return_inverse=True)
                cells_used, cell = np.unique(inverse[sel], return_inverse=True)
                (mmsi, t, lat_, lon_, speed, shore, port, ship, watch, rv_m, rv_s) = (
                    a[used].tolist() for a in arrays
                )
                batches[p] = CellBatch(
                    [names[u] for u in cells_used.tolist()],
                    mmsi,
                    t,
                    lat_,
                    lon_,
                    speed,
                    shore,
                    port,
                    ship,
                    watch,
                    rv_m,
                    rv_s,
                    row.tolist(),
                    cell.tolist(),
                )
                placed[p] = positions
            CELL_RECORDS.labels("position").inc(len(at))
        for before, sighting in sightings:
            p = cell_partition(sighting.cell, parts)
            batch = batches.get(p)
            if batch is None:
                batch = batches[p] = CellBatch()
            batch.sightings.append(sighting)
            found = placed.get(p)
            batch.after.append(0 if found is None else int(np.searchsorted(found, before)))
        if sightings:
            CELL_RECORDS.labels("sighting").inc(len(sightings))
        if marks:
            for p in range(parts):
                batches.setdefault(p, CellBatch()).marks.extend(marks)
        return [batch_outgoing(topic, batches[p], p) for p in sorted(batches)]
