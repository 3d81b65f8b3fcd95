"""The sea router the API's nearest help uses: fusion's Natural Earth coastline, loaded
once per process on first use (about 1.5 s), not at start-up."""

from __future__ import annotations

import functools

from fusion.geo.coastline import natural_earth_coastline
from fusion.geo.searoute import SeaRouter


@functools.cache
def sea_router() -> SeaRouter:
    return SeaRouter(list(natural_earth_coastline().land))
