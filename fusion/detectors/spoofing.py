"""Spoofing and identity: positions a vessel cannot have reached, MMSIs that are not real,
and identities that change.

* An implied speed above ``spoof_max_speed_kn`` between consecutive fixes (AISdb's
  denoiser bound, 50 kn), over more than ``spoof_min_jump_m``: one MMSI in two places at
  once, or a faked position. One alert per MMSI, updated with each new jump, closed after
  ``spoof_clear_s`` of consistent track.
* An MMSI ingest flagged invalid or a placeholder (123456789, ...): one alert per MMSI.
* A change of name, call sign or IMO between static reports (both values present and
  different): one alert per MMSI, updated with each further change.
"""

from __future__ import annotations

import math

from fusion.detectors.base import Detector, PositionInput, StaticInput, fix_evidence, vessel_label
from fusion.geo.distance import EARTH_RADIUS_M, METRES_PER_NM, distance_m
from fusion.tracks import Identity, ShardState, Track
from schemas.alerts import AlertRule, Severity

IDENTITY_FIELDS = ("name", "callsign", "imo")
_ARC_M_PER_DEGREE = EARTH_RADIUS_M * math.pi / 180
"""A degree of a great circle on the sphere the haversine uses, metres."""


class SpoofingDetector(Detector):
    def on_position(self, state: ShardState, track: Track, position: PositionInput) -> None:
        fix = position.fix
        if not position.mmsi_valid or position.mmsi_placeholder:
            what = "placeholder" if position.mmsi_placeholder else "invalid"
            self.engine.open(
                state,
                AlertRule.SPOOFING,
                f"{track.mmsi}:mmsi",
                started_t=fix.t,
                severity=Severity.MEDIUM.value,
                score=0.5,
                title=f"{vessel_label(track.mmsi, track.identity.name)}: {what} MMSI",
                mmsis=[track.mmsi],
                lat=fix.lat,
                lon=fix.lon,
                evidence={
                    "kind": f"{what}_mmsi",
                    "reason": position.mmsi_reason,
                    "position": fix_evidence(fix),
                },
            )
        last = track.last
        subject = str(track.mmsi)
        if last is None:
            return
        # A bound first: the great circle is no longer than the way along a meridian and then
        # a parallel, at most R (|dlat| + |dlon|). Consecutive fixes are nearly always well
        # within the minimum jump, and then the haversine is not needed.
        near = (
            abs(fix.lat - last.lat) + abs(fix.lon - last.lon)
        ) * _ARC_M_PER_DEGREE <= self.settings.spoof_min_jump_m
        metres = 0.0 if near else distance_m(last.lat, last.lon, fix.lat, fix.lon)
        seconds = max(fix.t - last.t, self.settings.spoof_min_seconds)
        implied_kn = metres / seconds * 3600 / METRES_PER_NM
        if (
            near
            or metres <= self.settings.spoof_min_jump_m
            or implied_kn <= self.settings.spoof_max_speed_kn
        ):
            if (
                track.last_jump_t is not None
                and fix.t - track.last_jump_t >= self.settings.spoof_clear_s
            ):
                self.engine.close(state, AlertRule.SPOOFING, subject, at_t=fix.t)
                track.last_jump_t = None
            return
        track.last_jump_t = fix.t
        jump = {
            "kind": "impossible_jump",
            "before": fix_evidence(last),
            "after": fix_evidence(fix),
            "distance_m": round(metres, 1),
            "seconds": fix.t - last.t,
            "implied_speed_kn": round(implied_kn, 1),
            "bound_kn": self.settings.spoof_max_speed_kn,
        }
        opened = self.engine.get(state, AlertRule.SPOOFING, subject)
        if opened is not None:
            jumps = int(opened.fields.get("evidence", {}).get("jumps", 1)) + 1
            self.engine.update(
                state,
                AlertRule.SPOOFING,
                subject,
                at_t=fix.t,
                lat=fix.lat,
                lon=fix.lon,
                evidence={**jump, "jumps": jumps},
            )
            return
        name = vessel_label(track.mmsi, track.identity.name)
        self.engine.open(
            state,
            AlertRule.SPOOFING,
            subject,
            started_t=fix.t,
            severity=Severity.HIGH.value,
            score=0.75,
            title=f"{name}: impossible jump of {metres / METRES_PER_NM:.1f} nm "
            f"({implied_kn:.0f} kn)",
            mmsis=[track.mmsi],
            lat=fix.lat,
            lon=fix.lon,
            evidence={**jump, "jumps": 1},
        )

    def on_static(
        self, state: ShardState, track: Track, static: StaticInput, before: Identity
    ) -> None:
        changes = {}
        for name in IDENTITY_FIELDS:
            old, new = getattr(before, name), getattr(track.identity, name)
            if old is not None and new is not None and old != new:
                changes[name] = {"before": old, "after": new}
        if not changes:
            return
        subject = str(track.mmsi)
        evidence = {"changes": changes, "time": static.t}
        if self.engine.is_open(state, AlertRule.IDENTITY_CHANGE, subject):
            self.engine.update(
                state, AlertRule.IDENTITY_CHANGE, subject, at_t=static.t, evidence=evidence
            )
            return
        # No position: which positions were read before the identity depends on batching,
        # and the alert must be the same on every replay.
        self.engine.open(
            state,
            AlertRule.IDENTITY_CHANGE,
            subject,
            started_t=static.t,
            severity=Severity.MEDIUM.value,
            score=0.5,
            title=f"{vessel_label(track.mmsi, before.name)}: {' and '.join(changes)} changed",
            mmsis=[track.mmsi],
            evidence=evidence,
        )
