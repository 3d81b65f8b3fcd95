"""The per-MMSI stage's side of ``fusion.cells``: one batch's positions and sightings,
placed in their grid cells, as one message per cell partition (``CellBatch``).

Positions are collected as they pass the per-MMSI detectors (a tuple each: the cheapest
thing to keep in the hot loop); the cells of the whole batch are then found with numpy
(``fusion.geo.cells.cells_near_many``) and each partition's share is cut out as columns.
The order the cell stage sees within a partition is the order of routing: a sighting
stays after the positions routed before it, the marks come last.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any, cast

import numpy as np
import numpy.typing as npt

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
    str | None,  # name
]
"""A position as the cell stage needs it, in ``CellFix``'s field order (without cell)."""


class CellRouter:
    """Collects one per-MMSI batch for the cell stage; ``take`` makes the messages."""

    def __init__(self, cell_deg: float) -> None:
        self.cell_deg = cell_deg
        self.rows: list[Row] = []
        self.sightings: list[tuple[int, CellSighting]] = []
        """Each sighting with the number of positions routed before it."""
        self._cells: dict[int, tuple[str, int]] = {}
        """Cell key (``row * 2**32 + col``) -> (name, partition), for ``_partitions``."""
        self._partitions = 0

    def sighting(self, sighting: CellSighting) -> None:
        self.sightings.append((len(self.rows), sighting))

    def _cells_of(
        self, rows: npt.NDArray[np.int64], cols: npt.NDArray[np.int64], partitions: int
    ) -> tuple[list[str], npt.NDArray[np.int64], npt.NDArray[np.intp]]:
        """The distinct cells among (row, col): their names, their partitions, and for each
        (row, col) which of them it is. Names and partitions are remembered per cell."""
        if partitions != self._partitions:
            self._cells.clear()
            self._partitions = partitions
        keys = rows * 4_294_967_296 + cols
        unique, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        known = self._cells
        found = [known.get(k) for k in unique.tolist()]
        if None in found:
            if len(known) > 1_000_000:  # a grid of many cells: start over
                known.clear()
            for i, key in enumerate(unique.tolist()):
                if found[i] is None:
                    name = f"{int(rows[first[i]])}:{int(cols[first[i]])}"
                    found[i] = known[key] = (name, cell_partition(name, partitions))
        cells = cast(list[tuple[str, int]], found)
        names = [c[0] for c in cells]
        return names, np.array([c[1] for c in cells], dtype=np.int64), inverse

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
            # Column by column: ``zip(*rows)`` over thousands of rows is several times
            # slower.
            columns: list[list[Any]] = [[row[k] for row in rows] for k in range(len(rows[0]))]
            lat = np.array(columns[2], dtype=np.float64)
            lon = np.array(columns[3], dtype=np.float64)
            at, cell_rows, cell_cols = cells_near_many(lat, lon, margin_m, self.cell_deg)
            names, partition, inverse = self._cells_of(cell_rows, cell_cols, parts)
            part = partition[inverse]
            for p in np.unique(part).tolist():
                sel = np.flatnonzero(part == p)
                positions = at[sel]
                used, row = np.unique(positions, return_inverse=True)
                cells_used, cell = np.unique(inverse[sel], return_inverse=True)
                (mmsi, t, lat_, lon_, speed, shore, port, ship, watch, rv_m, rv_s, name) = (
                    columns if len(used) == len(rows) else _pick(columns, used.tolist())
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
                    name,
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


def _pick(columns: list[list[Any]], used: list[int]) -> list[list[Any]]:
    """The rows ``used`` of every column."""
    if len(used) == 1:
        return [[c[used[0]]] for c in columns]
    pick = itemgetter(*used)
    return [list(pick(c)) for c in columns]
