"""Dark target: a patrol or community sighting with no AIS position near it.

A sighting with no AIS position within ``dark_target_radius_m`` in the
``dark_target_window_s`` before it raises an alert as soon as it reaches its cell (a watch
officer cannot wait for a watermark), with the sighting's id and position attached, never
its narrative, reporter or notes (those stay in the report, under the sharing rule), and
the reporting agency as ``source_agency``. A position within the radius that arrives later
with an event time up to the window after the sighting closes the alert as matched and
links the report to the vessel (report id <-> MMSI in the evidence).

Runs in the cell stage on positions as they arrive, not as the watermark releases them;
the sighting's own cell receives every position within the radius (``fusion.geo.cells``).
"""

from __future__ import annotations

import math

from fusion.cells.state import CellShardState, CellState
from fusion.cells.wire import CellFix, CellSighting
from fusion.detectors.base import severity_score
from fusion.engine import AlertEngine, at
from fusion.geo.distance import distance_m
from fusion.settings import FusionSettings
from schemas.alerts import AlertRule, Severity

SERIOUS_ACTIVITIES = frozenset({"people_smuggling", "trafficking"})
"""Activities that make a dark target high severity (the Bali Process's concerns)."""


def sighting_subject(report_id: str) -> str:
    return f"report:{report_id}"


class DarkTargetDetector:
    def __init__(self, settings: FusionSettings, engine: AlertEngine) -> None:
        self.settings = settings
        self.engine = engine

    def on_arrival(self, state: CellShardState, here: CellState, fix: CellFix) -> bool:
        """Every position that reaches the cell, as it arrives: kept for later sightings,
        and matched against the cell's open ones. True: the vessel's history in the cell
        begins with it (``keep``)."""
        began = self.keep(here, fix.mmsi, fix.t, fix.lat, fix.lon)
        window = self.settings.dark_target_window_s
        for report_id, sighting in list(here.sightings.items()):
            if abs(fix.t - sighting.t) > window:
                continue
            apart_m = distance_m(fix.lat, fix.lon, sighting.lat, sighting.lon)
            if apart_m > self.settings.dark_target_radius_m:
                continue
            del here.sightings[report_id]
            subject = sighting_subject(report_id)
            opened = self.engine.get(state, AlertRule.DARK_TARGET, subject)
            found = None if opened is None else opened.fields.get("evidence")
            evidence = dict(found) if isinstance(found, dict) else {}
            evidence["matched"] = {
                "mmsi": fix.mmsi,
                "time": at(fix.t).isoformat(),
                "lat": fix.lat,
                "lon": fix.lon,
                "distance_m": round(apart_m, 1),
            }
            self.engine.close(
                state,
                AlertRule.DARK_TARGET,
                subject,
                at_t=fix.t,
                mmsis=[fix.mmsi],
                evidence=evidence,
            )
        return began

    def keep(self, here: CellState, mmsi: int, t: float, lat: float, lon: float) -> bool:
        """The position into the cell's history, one per vessel per sampling interval.
        True when it begins the vessel's history there (the only entry that can be the
        cell's oldest: a later one is never older than the vessel's earlier ones)."""
        kept = here.recent.get(mmsi)
        if kept is None:
            here.recent[mmsi] = [(t, lat, lon)]
            return True
        if t - kept[-1][0] >= self.settings.dark_target_sample_s:
            kept.append((t, lat, lon))
        return False

    def on_sighting(self, state: CellShardState, here: CellState, sighting: CellSighting) -> None:
        """A sighting, judged at once on the positions the cell has received."""
        window = self.settings.dark_target_window_s
        radius = self.settings.dark_target_radius_m
        for kept in here.recent.values():
            for t, lat, lon in kept:
                if sighting.t - window <= t <= sighting.t + window and (
                    distance_m(lat, lon, sighting.lat, sighting.lon) <= radius
                ):
                    return  # an AIS track is there: not dark
        subject = sighting_subject(sighting.report_id)
        serious = sighting.activity in SERIOUS_ACTIVITIES
        severity = Severity.HIGH if serious else Severity.MEDIUM
        opened = self.engine.open(
            state,
            AlertRule.DARK_TARGET,
            subject,
            started_t=sighting.t,
            severity=severity.value,
            score=severity_score(severity.value),
            title=f"Dark target: sighting with no AIS within {radius / 1000:g} km",
            lat=sighting.lat,
            lon=sighting.lon,
            source_agency=sighting.agency,
            evidence=self._evidence(sighting, state),
        )
        if opened:
            here.sightings[sighting.report_id] = sighting

    def on_watermark(self, state: CellShardState, here: CellState, mark: float) -> None:
        """Positions older than the history leave; a sighting whose window has passed
        keeps its alert open for the watch floor but is no longer matched."""
        oldest = mark - self.settings.dark_target_history_s
        for mmsi in list(here.recent):
            kept = here.recent[mmsi]
            if kept[-1][0] < oldest:
                del here.recent[mmsi]
            elif kept[0][0] < oldest:
                here.recent[mmsi] = [k for k in kept if k[0] >= oldest]
        window = self.settings.dark_target_window_s
        for report_id in [r for r, s in here.sightings.items() if s.t + window < mark]:
            del here.sightings[report_id]
            self.engine.forget(state, AlertRule.DARK_TARGET, sighting_subject(report_id))

    def _evidence(self, sighting: CellSighting, state: CellShardState) -> dict[str, object]:
        """The sighting as the alert carries it: id, time and position only."""
        history_from = (
            -math.inf
            if state.mark_t is None
            else state.mark_t - self.settings.dark_target_history_s
        )
        return {
            "report_id": sighting.report_id,
            "observed_at": at(sighting.t).isoformat(),
            "lat": sighting.lat,
            "lon": sighting.lon,
            "uncertainty_m": sighting.uncertainty_m,
            "radius_m": self.settings.dark_target_radius_m,
            "window_s": self.settings.dark_target_window_s,
            "ais_history_complete": sighting.t - self.settings.dark_target_window_s >= history_from,
        }
