"""Decode TopoJSON (quantized, delta-encoded arcs) into shapely geometries.

The world-atlas files are TopoJSON; this is the part of the specification they use
(https://github.com/topojson/topojson-specification): a ``transform``, arcs whose positions
after the first are deltas, and Polygon / MultiPolygon objects made of arc indices, where
``~i`` (``-i - 1``) means arc ``i`` reversed. Shared arc end points appear once per ring.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry


class TopoJsonError(ValueError):
    """A TopoJSON document this decoder cannot read."""


def decode_arcs(topology: dict[str, Any]) -> list[np.ndarray]:
    """Every arc as an (n, 2) array of longitude, latitude."""
    transform = topology.get("transform")
    arcs: list[np.ndarray] = []
    for raw in topology["arcs"]:
        points = np.asarray(raw, dtype=float)[:, :2]
        if transform is not None:
            points = np.cumsum(points, axis=0)
            points = points * np.asarray(transform["scale"]) + np.asarray(transform["translate"])
        arcs.append(points)
    return arcs


def _ring(arcs: list[np.ndarray], indices: list[int]) -> np.ndarray:
    parts: list[np.ndarray] = []
    for index in indices:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        parts.append(arc if not parts else arc[1:])  # the joint is in both arcs
    ring = np.concatenate(parts)
    if not np.array_equal(ring[0], ring[-1]):
        ring = np.vstack([ring, ring[:1]])
    return ring


def _polygons(arcs: list[np.ndarray], geometry: dict[str, Any]) -> list[shapely.Polygon]:
    kind = geometry.get("type")
    if kind == "Polygon":
        polygons = [geometry["arcs"]]
    elif kind == "MultiPolygon":
        polygons = geometry["arcs"]
    elif kind == "GeometryCollection":
        return [p for g in geometry["geometries"] for p in _polygons(arcs, g)]
    elif kind is None:
        return []
    else:
        raise TopoJsonError(f"geometry type {kind!r} is not a polygon")
    found = []
    for rings in polygons:
        shell, *holes = (_ring(arcs, r) for r in rings)
        if len(shell) >= 4:
            found.append(shapely.Polygon(shell, [h for h in holes if len(h) >= 4]))
    return found


def polygons_of(topology: dict[str, Any], name: str) -> list[BaseGeometry]:
    """The polygons of object ``name``, each made valid (Natural Earth has a few
    self-intersections)."""
    if topology.get("type") != "Topology":
        raise TopoJsonError("not a TopoJSON Topology")
    try:
        obj = topology["objects"][name]
    except KeyError:
        raise TopoJsonError(f"no object {name!r} in the topology") from None
    arcs = decode_arcs(topology)
    return [shapely.make_valid(p) for p in _polygons(arcs, obj)]
