"""Loitering: a vessel stays slow, far from shore and out of port, long enough to matter.

Global Fishing Watch's loitering events: below 2 kn for at least 2 h, at least 20 nm from
shore. A run of such fixes opens the alert once it lasts ``loiter_min_s``; the first fix
that breaks the run (faster, nearer shore, in port) closes it. Fixes without a reported
speed neither extend nor break a run.

A zone whose rules set ``loiter_min_s`` or ``loiter_max_speed_kn`` (``GeofenceRules``)
judges the fixes inside it by its own numbers, wherever the shore is (a marine protected
area close to land is where slow boats matter most); of several such zones, the one asking
for the shortest time. A port or anchorage still counts as port.
"""

from __future__ import annotations

from dataclasses import dataclass

from fusion.detectors.base import Detector, PositionInput, fix_evidence, vessel_label
from fusion.engine import AlertEngine
from fusion.geo.distance import distance_m
from fusion.geo.zones import ZoneIndex
from fusion.settings import FusionSettings
from fusion.tracks import Fix, ShardState, Track
from schemas.alerts import AlertRule, Severity


@dataclass(frozen=True, slots=True)
class LoiterRule:
    """The loitering numbers that judge one fix."""

    min_s: float
    max_speed_kn: float
    zone_id: str | None = None
    """The zone whose rules these are (None: the global rule, with its shore distance)."""


class LoiteringDetector(Detector):
    def __init__(
        self, settings: FusionSettings, engine: AlertEngine, zones: ZoneIndex | None = None
    ) -> None:
        super().__init__(settings, engine)
        self.zones = zones or ZoneIndex([], 0.0)
        self.global_rule = LoiterRule(settings.loiter_min_s, settings.loiter_max_speed_kn)

    def rule(self, position: PositionInput) -> LoiterRule:
        if not position.inside:
            return self.global_rule  # most fixes
        found = self.global_rule
        for zone_id in sorted(position.inside):
            zone = self.zones.zones.get(zone_id)
            rules = zone.rules if zone is not None else None
            if rules is None or (rules.loiter_min_s is None and rules.loiter_max_speed_kn is None):
                continue
            rule = LoiterRule(
                rules.loiter_min_s or self.settings.loiter_min_s,
                rules.loiter_max_speed_kn or self.settings.loiter_max_speed_kn,
                zone_id,
            )
            if found.zone_id is None or rule.min_s < found.min_s:
                found = rule
        return found

    def loitering(self, position: PositionInput, rule: LoiterRule) -> bool | None:
        speed = position.fix.speed_kn
        if speed is None:
            return None
        if speed >= rule.max_speed_kn or position.in_port:
            return False
        if rule.zone_id is not None:
            return True
        shore = position.shore_nm
        return shore is not None and shore >= self.settings.loiter_min_shore_nm

    def on_position(self, state: ShardState, track: Track, position: PositionInput) -> None:
        rule = self.rule(position)
        verdict = self.loitering(position, rule)
        if verdict is None:
            return
        fix = position.fix
        subject = str(track.mmsi)
        if not verdict:
            if track.slow_since is not None and track.slow_last is not None:
                first, last = track.slow_since, track.slow_last
                self.engine.close(
                    state,
                    AlertRule.LOITERING,
                    subject,
                    at_t=last.t,
                    evidence=self._evidence(first, last, track.slow_shore_nm),
                )
            track.slow_since = track.slow_last = track.slow_shore_nm = None
            return
        if track.slow_since is None:
            track.slow_since = fix
        track.slow_last = fix
        if position.shore_nm is not None:
            nearest = track.slow_shore_nm
            track.slow_shore_nm = (
                position.shore_nm if nearest is None else min(nearest, position.shore_nm)
            )
        first = track.slow_since
        if fix.t - first.t < rule.min_s:
            return
        evidence = self._evidence(first, fix, track.slow_shore_nm)
        if rule.zone_id is not None:
            evidence["zone"] = rule.zone_id
            evidence["loiter_min_s"] = rule.min_s
        if self.engine.is_open(state, AlertRule.LOITERING, subject):
            self.engine.update(
                state,
                AlertRule.LOITERING,
                subject,
                at_t=fix.t,
                lat=fix.lat,
                lon=fix.lon,
                evidence=evidence,
            )
            return
        name = vessel_label(track.mmsi, track.identity.name)
        self.engine.open(
            state,
            AlertRule.LOITERING,
            subject,
            started_t=first.t,
            at_t=fix.t,
            severity=Severity.MEDIUM.value,
            score=0.5,
            title=f"{name} loitering below {rule.max_speed_kn:g} kn"
            + (f" in {self._zone_name(rule.zone_id)}" if rule.zone_id else ""),
            mmsis=[track.mmsi],
            lat=fix.lat,
            lon=fix.lon,
            evidence=evidence,
        )

    def _zone_name(self, zone_id: str) -> str:
        zone = self.zones.zones.get(zone_id)
        return zone.name if zone is not None else zone_id

    @staticmethod
    def _evidence(first: Fix, last: Fix, shore_nm: float | None) -> dict[str, object]:

        return {
            "first": fix_evidence(first),
            "last": fix_evidence(last),
            "duration_s": last.t - first.t,
            "drift_m": round(distance_m(first.lat, first.lon, last.lat, last.lon), 1),
            "shore_nm": None if shore_nm is None else round(shore_nm, 1),
        }
