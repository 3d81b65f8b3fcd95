"""What a detector is: it sees one partition's positions and identities in order, and the
watermark as it advances, and tells the alert engine what opened, changed or ended.

Geometry is done before the detectors run, on the whole batch (zones, shore distance), so a
detector reads a position's zones and shore distance from ``PositionInput``.
"""

from __future__ import annotations

from dataclasses import dataclass

from fusion.engine import AlertEngine, at
from fusion.settings import FusionSettings
from fusion.tracks import Fix, Identity, ShardState, Track


@dataclass(slots=True)
class PositionInput:
    """One vessel position with what the batch geometry found about it."""

    mmsi: int
    fix: Fix
    inside: frozenset[str]
    """Zones the fix is inside, as drawn."""
    near: frozenset[str]
    """Zones whose hysteresis-grown shape holds the fix."""
    in_port: bool
    shore_nm: float | None
    """Distance to shore, nm (None: not computed for this fix, it is fast and not last)."""
    mmsi_valid: bool = True
    mmsi_placeholder: bool = False
    mmsi_reason: str | None = None
    nav_status: int | None = None
    """ITU-R M.1371 navigational status (14: AIS-SART active)."""


@dataclass(slots=True)
class StaticInput:
    mmsi: int
    t: float
    identity: Identity


class Detector:
    """A detector's hooks; each does nothing unless overridden."""

    def __init__(self, settings: FusionSettings, engine: AlertEngine) -> None:
        self.settings = settings
        self.engine = engine

    def on_position(self, state: ShardState, track: Track, position: PositionInput) -> None:
        """Called before ``track.last`` becomes ``position.fix``."""

    def on_static(
        self, state: ShardState, track: Track, static: StaticInput, before: Identity
    ) -> None:
        """Called after ``track.identity`` took in the report (``before``: as it was)."""

    def on_watermark(self, state: ShardState, watermark_t: float) -> None:
        """The partition's watermark advanced to ``watermark_t``."""


def vessel_label(mmsi: int, name: str | None) -> str:
    """How a title names a vessel: its AIS name and MMSI when a static report gave the name
    before the alert opened ("KM SINAR JAYA (525012345)"), else "MMSI 525012345". Fusion
    applies static reports and positions in event-time order (``fusion.ordering``), so the
    name known at that moment, and the title, are the same on every replay."""
    return f"{name} ({mmsi})" if name else f"MMSI {mmsi}"


def severity_score(severity: str) -> float:
    return {"low": 0.25, "medium": 0.5, "high": 0.75, "critical": 1.0}.get(severity, 0.5)


def fix_evidence(fix: Fix) -> dict[str, object]:
    """A fix as a watch officer reads it in an alert's evidence."""
    found: dict[str, object] = {"time": at(fix.t).isoformat(), "lat": fix.lat, "lon": fix.lon}
    if fix.speed_kn is not None:
        found["speed_kn"] = fix.speed_kn
    return found
