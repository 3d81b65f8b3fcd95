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
