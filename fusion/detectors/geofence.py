"""Geofence: a vessel enters, leaves, or dwells in a zone.

A vessel is inside from the first fix inside the zone as drawn until the first fix outside
the zone grown by ``geofence_hysteresis_m`` (``fusion.geo.zones``). The zone's rules
(``GeofenceRules``) say which of enter / exit / dwell raise alerts, for which ship types and
speeds. The enter alert lives while the vessel is inside (closed when it leaves), the dwell
alert from the dwell threshold to leaving; an exit alert is a single fact and stays open
for a person to acknowledge.
"""

from __future__ import annotations

from fusion.detectors.base import (
    Detector,
    PositionInput,
    fix_evidence,
    severity_score,
    vessel_label,
)
from fusion.engine import AlertEngine
from fusion.geo.distance import distance_m
from fusion.geo.zones import ZoneIndex
from fusion.settings import FusionSettings
from fusion.tracks import ShardState, Track
from schemas.alerts import AlertRule
from schemas.config import Geofence

WHAT = {
    AlertRule.GEOFENCE_ENTER: "entered",
    AlertRule.GEOFENCE_EXIT: "left",
    AlertRule.GEOFENCE_DWELL: "is dwelling in",
}


def applies(zone: Geofence, track: Track, speed_kn: float | None) -> bool:
    """The zone's ship-type and speed filters."""
    rules = zone.rules
    if rules.ship_types is not None and track.identity.ship_type not in rules.ship_types:
        return False
    if speed_kn is not None:
        if rules.min_speed_kn is not None and speed_kn < rules.min_speed_kn:
            return False
        if rules.max_speed_kn is not None and speed_kn > rules.max_speed_kn:
            return False
    elif rules.min_speed_kn is not None or rules.max_speed_kn is not None:
        return False
    return True


class GeofenceDetector(Detector):
    def __init__(self, settings: FusionSettings, engine: AlertEngine, zones: ZoneIndex) -> None:
        super().__init__(settings, engine)
        self.zones = zones

    def dwell_s(self, zone: Geofence) -> float | None:
        return zone.rules.dwell_s

    def on_position(self, state: ShardState, track: Track, position: PositionInput) -> None:
        if not position.inside and not track.zones:
            return  # outside every zone, before and now: most positions
        fix = position.fix
        for zone_id in sorted(position.inside - track.zones.keys()):
            zone = self.zones.zones.get(zone_id)
            if zone is None:
                continue
            track.zones[zone_id] = fix.t
            if zone.rules.on_enter and applies(zone, track, fix.speed_kn):
                self._open(state, track, zone, AlertRule.GEOFENCE_ENTER, fix.t, position)
        for zone_id in sorted(track.zones.keys() - position.near):
            entered_t = track.zones.pop(zone_id)
            self._left(state, track, zone_id, entered_t, position)
        for zone_id, entered_t in sorted(track.zones.items()):
            zone = self.zones.zones.get(zone_id)
            dwell = self.dwell_s(zone) if zone is not None else None
            if zone is None or dwell is None or fix.t - entered_t < dwell:
                continue
            subject = f"{track.mmsi}:{zone_id}"
            if self.engine.is_open(state, AlertRule.GEOFENCE_DWELL, subject):
                self.engine.update(
                    state,
                    AlertRule.GEOFENCE_DWELL,
                    subject,
                    at_t=fix.t,
                    lat=fix.lat,
                    lon=fix.lon,
                    evidence={**self._evidence(zone, position), "inside_s": fix.t - entered_t},
                )
            elif applies(zone, track, fix.speed_kn):
                self._open(
                    state, track, zone, AlertRule.GEOFENCE_DWELL, entered_t, position, at_t=fix.t
                )

    def _left(
        self,
        state: ShardState,
        track: Track,
        zone_id: str,
        entered_t: float,
        position: PositionInput,
    ) -> None:
        fix = position.fix
        subject = f"{track.mmsi}:{zone_id}"
        inside = {"inside_s": fix.t - entered_t, "exit_lat": fix.lat, "exit_lon": fix.lon}
        for rule in (AlertRule.GEOFENCE_ENTER, AlertRule.GEOFENCE_DWELL):
            opened = self.engine.get(state, rule, subject)
            if opened is not None:
                evidence = {**opened.fields.get("evidence", {}), **inside}
                self.engine.close(state, rule, subject, at_t=fix.t, evidence=evidence)
        zone = self.zones.zones.get(zone_id)
        if zone is not None and zone.rules.on_exit and applies(zone, track, fix.speed_kn):
            self._open(state, track, zone, AlertRule.GEOFENCE_EXIT, fix.t, position, extra=inside)

    def _open(
        self,
        state: ShardState,
        track: Track,
        zone: Geofence,
        rule: AlertRule,
        started_t: float,
        position: PositionInput,
        *,
        at_t: float | None = None,
        extra: dict[str, float] | None = None,
    ) -> None:
        fix = position.fix
        name = vessel_label(track.mmsi, track.identity.name)
        evidence = self._evidence(zone, position)
        if rule is AlertRule.GEOFENCE_DWELL:
            evidence["inside_s"] = fix.t - started_t
            evidence["dwell_s"] = self.dwell_s(zone)
        if track.last is not None:
            evidence["before"] = fix_evidence(track.last)
            evidence["before_m"] = round(
                distance_m(track.last.lat, track.last.lon, fix.lat, fix.lon), 1
            )
        evidence.update(extra or {})
        severity = zone.rules.severity.value
        self.engine.open(
            state,
            rule,
            f"{track.mmsi}:{zone.geofence_id}",
            started_t=started_t,
            at_t=at_t,
            severity=severity,
            score=severity_score(severity),
            title=f"{name} {WHAT[rule]} {zone.name}",
            mmsis=[track.mmsi],
            lat=fix.lat,
            lon=fix.lon,
            geofence_id=zone.geofence_id,
            evidence=evidence,
        )

    def zone_removed(self, state: ShardState, zone_id: str, at_t: float) -> None:
        """A zone deleted or deactivated: its open alerts close, nobody is inside it."""
        for track in state.tracks.values():
            if track.zones.pop(zone_id, None) is None:
                continue
            subject = f"{track.mmsi}:{zone_id}"
            for rule in (AlertRule.GEOFENCE_ENTER, AlertRule.GEOFENCE_DWELL):
                self.engine.close(state, rule, subject, at_t=at_t)

    @staticmethod
    def _evidence(zone: Geofence, position: PositionInput) -> dict[str, object]:
        return {
            "zone": zone.name,
            "zone_kind": zone.kind.value,
            "position": fix_evidence(position.fix),
        }
