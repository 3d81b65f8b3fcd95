"""Event time and the watermark: the latest event time a partition has seen, minus the
allowed lateness. Detectors that judge silence (gap, expiry) read the watermark, never the
wall clock, so a replay as fast as possible and a live feed decide the same."""

from __future__ import annotations

from fusion.tracks import ShardState


def observe(state: ShardState, event_t: float) -> None:
    if state.max_event_t is None or event_t > state.max_event_t:
        state.max_event_t = event_t


def watermark(state: ShardState, allowed_lateness_s: float) -> float | None:
    """None until the partition has seen an event."""
    if state.max_event_t is None:
        return None
    return state.max_event_t - allowed_lateness_s


def is_late(state: ShardState, event_t: float, allowed_lateness_s: float) -> bool:
    mark = watermark(state, allowed_lateness_s)
    return mark is not None and event_t < mark
