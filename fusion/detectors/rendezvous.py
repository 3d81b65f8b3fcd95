"""Rendezvous: two vessels stay close and slow together, away from shore, long enough for a
transfer at sea (transshipment of catch, fuel, people).

Global Fishing Watch's encounter rule: within 500 m, both below 2 kn, for at least 2 h; a
zone may ask for a tighter rule (Skylight: 250 m for 30 min). Runs in the cell stage, on
each cell's positions in event-time order (released by the watermark). A pair is seen by
every cell that receives both vessels; the cell holding the midpoint of their first contact
owns it and alone raises the alert, whose id derives from the ordered MMSI pair and the
start, so two cells never raise two alerts for one encounter.

Life cycle: opened once together for the minimum time, updated with new evidence (cooldown
in the engine), closed when they part (farther apart, faster, into port) or when neither is
seen together for ``rendezvous_max_fix_age_s``.
"""

from __future__ import annotations

from typing import Any

from fusion.cells.state import CellShardState, CellState, Pair
from fusion.cells.wire import CellFix
from fusion.detectors.base import severity_score, vessel_label
from fusion.engine import AlertEngine, at
from fusion.geo.cells import cell_name, midpoint_cell
from fusion.geo.distance import distance_m
from fusion.settings import FusionSettings
from schemas.alerts import AlertRule, Severity

FISHING_TYPES = frozenset({30})
"""ITU-R M.1371 ship type 30: fishing."""
CARRIER_TYPES = frozenset(range(70, 90))
"""Cargo (70-79, reefers and carriers among them) and tankers (80-89): what a fishing
vessel meets to tranship catch or take on fuel."""


def pair_subject(a: int, b: int) -> str:
    return f"{min(a, b)}:{max(a, b)}"


class RendezvousDetector:
    def __init__(self, settings: FusionSettings, engine: AlertEngine) -> None:
        self.settings = settings
        self.engine = engine

    def eligible(self, fix: CellFix) -> bool:
        """Slow, out of port and away from shore: a fix that may be part of an encounter."""
        s = self.settings
        if fix.speed_kn is None or fix.speed_kn >= s.rendezvous_max_speed_kn or fix.in_port:
            return False
        if s.rendezvous_min_shore_nm <= 0:
            return True
        return fix.shore_nm is not None and fix.shore_nm >= s.rendezvous_min_shore_nm

    def rule(self, f: CellFix, g: CellFix) -> tuple[float, float]:
        """(distance m, duration s): a zone's rule where either vessel is in one."""
        zone_m = [x for x in (f.rendezvous_m, g.rendezvous_m) if x is not None]
        zone_s = [x for x in (f.rendezvous_s, g.rendezvous_s) if x is not None]
        return (
            min(zone_m) if zone_m else self.settings.rendezvous_max_distance_m,
            min(zone_s) if zone_s else self.settings.rendezvous_min_s,
        )

    def on_fix(self, state: CellShardState, cell: str, here: CellState, fix: CellFix) -> None:
        """A position released by the watermark, in event-time order."""
        if not self.eligible(fix):
            here.slow.pop(fix.mmsi, None)
            for key in [k for k, p in here.pairs.items() if fix.mmsi in (p.a, p.b)]:
                self._part(state, here, key, fix.t)
            return
        max_age = self.settings.rendezvous_max_fix_age_s
        for other in list(here.slow.values()):
            if other.mmsi == fix.mmsi or fix.t - other.t > max_age:
                continue
            apart_m = distance_m(fix.lat, fix.lon, other.lat, other.lon)
            limit_m, min_s = self.rule(fix, other)
            key = pair_subject(fix.mmsi, other.mmsi)
            if apart_m <= limit_m:
                self._together(state, cell, here, key, fix, other, apart_m, min_s)
            elif key in here.pairs:
                self._part(state, here, key, fix.t)
        here.slow[fix.mmsi] = fix

    def on_watermark(self, state: CellShardState, here: CellState, mark: float) -> None:
        """Vessels not heard for the fix age leave the cell's slow set; pairs not seen
        together that long have parted."""
        oldest = mark - self.settings.rendezvous_max_fix_age_s
        for mmsi in [m for m, f in here.slow.items() if f.t < oldest]:
            del here.slow[mmsi]
        for key in [k for k, p in here.pairs.items() if p.last_t < oldest]:
            pair = here.pairs[key]
            self._part(state, here, key, pair.last_t)

    # --- a pair's life ------------------------------------------------------------------

    def _together(
        self,
        state: CellShardState,
        cell: str,
        here: CellState,
        key: str,
        fix: CellFix,
        other: CellFix,
        apart_m: float,
        min_s: float,
    ) -> None:
        a, b = (fix, other) if fix.mmsi < other.mmsi else (other, fix)
        pair = here.pairs.get(key)
        if pair is None:
            owner = cell_name(midpoint_cell(a.lat, a.lon, b.lat, b.lon, self.settings.cell_deg))
            pair = here.pairs[key] = Pair(
                a.mmsi, b.mmsi, owner == cell, fix.t, fix.t, a, b, a, b, apart_m, apart_m
            )
        else:
            pair.last_t, pair.last_a, pair.last_b = fix.t, a, b
            pair.distance_m = apart_m
            pair.min_distance_m = min(pair.min_distance_m, apart_m)
        if not pair.owner or pair.last_t - pair.since_t < min_s:
            return
        fields = self._fields(pair)
        if self.engine.is_open(state, AlertRule.RENDEZVOUS, key):
            self.engine.update(state, AlertRule.RENDEZVOUS, key, at_t=fix.t, **fields)
            return
        self.engine.open(
            state,
            AlertRule.RENDEZVOUS,
            key,
            started_t=pair.since_t,
            at_t=fix.t,
            title=f"{vessel_label(a.mmsi, a.name)} and {vessel_label(b.mmsi, b.name)} "
            "together at sea",
            mmsis=[pair.a, pair.b],
            **fields,
        )

    def _part(self, state: CellShardState, here: CellState, key: str, at_t: float) -> None:
        pair = here.pairs.pop(key)
        if pair.owner:
            self.engine.close(
                state, AlertRule.RENDEZVOUS, key, at_t=max(at_t, pair.last_t), **self._fields(pair)
            )

    def _fields(self, pair: Pair) -> dict[str, Any]:
        a, b = pair.last_a, pair.last_b
        types = {a.ship_type, b.ship_type}
        fishing = bool(types & FISHING_TYPES)
        carrier = bool(types & CARRIER_TYPES)
        watchlisted = a.watchlisted or b.watchlisted
        severity = Severity.HIGH if (fishing and carrier) or watchlisted else Severity.MEDIUM
        return {
            "severity": severity.value,
            "score": severity_score(severity.value),
            "lat": round((a.lat + b.lat) / 2, 6),
            "lon": round((a.lon + b.lon) / 2, 6),
            "evidence": {
                "vessels": [_vessel(pair.first_a, a), _vessel(pair.first_b, b)],
                "distance_m": round(pair.distance_m, 1),
                "min_distance_m": round(pair.min_distance_m, 1),
                "duration_s": pair.last_t - pair.since_t,
                "fishing_meets_carrier": fishing and carrier,
                "watchlisted": watchlisted,
            },
        }


def _vessel(first: CellFix, last: CellFix) -> dict[str, object]:
    return {
        "mmsi": last.mmsi,
        "ship_type": last.ship_type,
        "watchlisted": last.watchlisted,
        "first": _fix(first),
        "last": _fix(last),
    }


def _fix(fix: CellFix) -> dict[str, object]:
    return {
        "time": at(fix.t).isoformat(),
        "lat": fix.lat,
        "lon": fix.lon,
        "speed_kn": fix.speed_kn,
    }
