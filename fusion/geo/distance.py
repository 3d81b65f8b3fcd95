"""Great-circle distances on whole arrays (haversine on a sphere of the mean Earth radius)."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG)."""
METRES_PER_NM = 1852.0
METRES_PER_DEGREE_LAT = 111_195.0
"""One degree of a great circle on the mean sphere, metres."""

Floats = npt.NDArray[np.float64]


def haversine_m(
    lat1: Floats | float, lon1: Floats | float, lat2: Floats | float, lon2: Floats | float
) -> Floats:
    """Distance in metres between (lat1, lon1) and (lat2, lon2), element-wise."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """``haversine_m`` for one pair, in plain floats: the detectors ask it once per
    position, where numpy's per-call overhead (~15 us) cost more than the sum."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(max(a, 0.0), 1.0)))
