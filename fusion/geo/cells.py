"""The coarse grid the pair detectors are keyed by.

A cell is ``cell_deg`` by ``cell_deg`` degrees, named ``"<row>:<col>"`` (row from latitude,
column from longitude, both floor-divided). A position goes to its own cell and, when it
lies within a pair distance of a border, to the neighbour across it too, so a cell sees
every vessel that could be paired with one of its own: two points at most ``d`` apart
have their midpoint within ``d/2`` of each, so the midpoint's cell holds both whenever
the routing margin is at least ``d/2`` (it is ``d``: the dark-target rule needs a
sighting's own cell to see every position within ``d`` of it).

The antimeridian is not handled (no neighbour across it): Lookout's region is the Bali
Process area, far from it.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from fusion.geo.distance import METRES_PER_DEGREE_LAT

Cell = tuple[int, int]


def cell_of(lat: float, lon: float, cell_deg: float) -> Cell:
    return (math.floor(lat / cell_deg), math.floor(lon / cell_deg))


def cell_name(cell: Cell) -> str:
    return f"{cell[0]}:{cell[1]}"


def cells_near(lat: float, lon: float, margin_m: float, cell_deg: float) -> list[Cell]:
    """The position's own cell first, then every neighbour whose border is within
    ``margin_m`` of it (a corner neighbour only when both borders are)."""
    row, col = cell_of(lat, lon, cell_deg)
    dlat = margin_m / METRES_PER_DEGREE_LAT
    dlon = dlat / max(math.cos(math.radians(lat)), 1e-6)
    rows = [row]
    if lat - dlat < row * cell_deg:
        rows.append(row - 1)
    if lat + dlat >= (row + 1) * cell_deg:
        rows.append(row + 1)
    cols = [col]
    if lon - dlon < col * cell_deg:
        cols.append(col - 1)
    if lon + dlon >= (col + 1) * cell_deg:
        cols.append(col + 1)
    return [(r, c) for r in rows for c in cols]


def midpoint_cell(lat1: float, lon1: float, lat2: float, lon2: float, cell_deg: float) -> Cell:
    """The cell that owns a pair: the one holding the midpoint of its two positions (every
    cell that sees the pair computes the same)."""
    return cell_of((lat1 + lat2) / 2, (lon1 + lon2) / 2, cell_deg)


def cells_near_many(
    lats: npt.NDArray[np.float64], lons: npt.NDArray[np.float64], margin_m: float, cell_deg: float
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """``cells_near`` for a whole batch: (position index, row, column) of each cell a
    position goes to, ordered by position and, for one position, as ``cells_near``
    orders them (own cell first)."""
    rows = np.floor(lats / cell_deg).astype(np.int64)
    cols = np.floor(lons / cell_deg).astype(np.int64)
    dlat = margin_m / METRES_PER_DEGREE_LAT
    dlon = dlat / np.maximum(np.cos(np.radians(lats)), 1e-6)
    every = np.ones(len(lats), dtype=bool)
    row_steps: list[tuple[int, npt.NDArray[np.bool_]]] = [
        (0, every),
        (-1, lats - dlat < rows * cell_deg),
        (1, lats + dlat >= (rows + 1) * cell_deg),
    ]
    col_steps: list[tuple[int, npt.NDArray[np.bool_]]] = [
        (0, every),
        (-1, lons - dlon < cols * cell_deg),
        (1, lons + dlon >= (cols + 1) * cell_deg),
    ]
    index, out_rows, out_cols, order = [], [], [], []
    k = 0
    for dr, row_ok in row_steps:
        for dc, col_ok in col_steps:
            which = np.flatnonzero(row_ok & col_ok)
            index.append(which)
            out_rows.append(rows[which] + dr)
            out_cols.append(cols[which] + dc)
            order.append(np.full(len(which), k, dtype=np.int64))
            k += 1
    at = np.concatenate(index)
    sort = np.lexsort((np.concatenate(order), at))
    return at[sort], np.concatenate(out_rows)[sort], np.concatenate(out_cols)[sort]
