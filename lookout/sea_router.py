"""The sea router the API's nearest help uses: fusion's Natural Earth coastline, loaded
once per process on first use (about 1.5 s), not at start-up."""

from __future__ import annotations

import functools
import threading

from fusion.geo.coastline import natural_earth_coastline
from fusion.geo.searoute import SeaRouter

_building = threading.Lock()


def sea_router() -> SeaRouter:
    """Called from the API's worker threads: the first callers wait for one build."""
    with _building:
        return _build()


@functools.cache
def _build() -> SeaRouter:
    return SeaRouter(list(natural_earth_coastline().land))
