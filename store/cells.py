"""The H3 cell of a position: what the sink stores in ``positions.h3_cell`` (migration
020) and what an area question looks up.

H3 (Uber's hexagonal grid, the ``h3`` package) rather than a latitude/longitude grid:
cells of one resolution are about the same size everywhere, and their ids are 64-bit
integers a b-tree indexes. PostgreSQL here has no H3 extension, so the sink computes the
cell in Python: one call into H3's C library per position (about half a microsecond).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from h3.api import basic_int as h3

H3_RESOLUTION = 6
"""Resolution of ``positions.h3_cell``: cells of about 36 km² (edges about 3.7 km; H3's
table of cell statistics). Fine enough that a polygon of a few tens of kilometres reads
few positions outside it on its border, coarse enough that such a polygon is covered by
tens to hundreds of cells. Changing it needs every stored cell recomputed."""

_latlng_to_cell: Callable[[float, float, int], int] = h3.latlng_to_cell


def cell_of(lat: float, lon: float) -> int:
    """The ``positions.h3_cell`` of a position (WGS 84 degrees)."""
    return _latlng_to_cell(lat, lon, H3_RESOLUTION)


def cells_of(lats: Sequence[float], lons: Sequence[float]) -> list[int]:
    """The cells of many positions at once (the sink's batch)."""
    res = H3_RESOLUTION
    return [_latlng_to_cell(lat, lon, res) for lat, lon in zip(lats, lons, strict=True)]
