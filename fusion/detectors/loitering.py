"""Loitering: a vessel stays slow, far from shore and out of port, long enough to matter.

Global Fishing Watch's loitering events: below 2 kn for at least 2 h, at least 20 nm from
shore. A run of such fixes opens the alert once it lasts ``loiter_min_s``; the first fix
that breaks the run (faster, nearer shore, in port) closes it. Fixes without a reported
speed neither extend nor break a run.
"""

from __future__ import annotations

from fusion.detectors.base import Detector, PositionInput, fix_evidence
from fusion.geo.distance import distance_m
from fusion.tracks import Fix, ShardState, Track
from schemas.alerts import AlertRule, Severity


class LoiteringDetector(Detector):
    def loitering(self, position: PositionInput) -> bool | None:
        speed = position.fix.speed_kn
        if speed is None:
            return None
        if speed >= self.settings.loiter_max_speed_kn or position.in_port:
            return False
        shore = position.shore_nm
        return shore is not None and shore >= self.settings.loiter_min_shore_nm

    def on_position(self, state: ShardState, track: Track, position: PositionInput) -> None:
        verdict = self.loitering(position)
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
        if fix.t - first.t < self.settings.loiter_min_s:
            return
        evidence = self._evidence(first, fix, track.slow_shore_nm)
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
        # The MMSI, not the name: identities arrive on their own topic, and an alert must
        # read the same on every replay (the watch floor shows the vessel's name beside it).
        name = f"MMSI {track.mmsi}"
        self.engine.open(
            state,
            AlertRule.LOITERING,
            subject,
            started_t=first.t,
            at_t=fix.t,
            severity=Severity.MEDIUM.value,
            score=0.5,
            title=f"{name} loitering below {self.settings.loiter_max_speed_kn:g} kn",
            mmsis=[track.mmsi],
            lat=fix.lat,
            lon=fix.lon,
            evidence=evidence,
        )

    @staticmethod
    def _evidence(first: Fix, last: Fix, shore_nm: float | None) -> dict[str, object]:

        return {
            "first": fix_evidence(first),
            "last": fix_evidence(last),
            "duration_s": last.t - first.t,
            "drift_m": round(distance_m(first.lat, first.lon, last.lat, last.lon), 1),
            "shore_nm": None if shore_nm is None else round(shore_nm, 1),
        }
