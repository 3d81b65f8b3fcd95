"""AIS gap ("going dark"): a vessel away from port and shore falls silent too long.

Silence is judged on the partition's watermark, never the wall clock: when the watermark
passes ``last fix + gap_s`` the gap opens; the vessel's next fix closes it with the gap's
duration and the distance covered. A vessel whose next fix arrives before the watermark got
there (the lateness window) opens and closes it at once, with the same events.

A receiver outage silences every vessel it heard at once; that is a coverage gap, not a
vessel going dark. With ``gap_coverage_check``, a gap counts only if the station that heard
the vessel's last fix was heard again (by other vessels of this partition) during the
silence; a station silent throughout means we were deaf, not that the vessel went dark.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

from fusion.detectors.base import Detector, PositionInput, fix_evidence, vessel_label
from fusion.engine import AlertEngine, at
from fusion.geo.distance import METRES_PER_NM, distance_m
from fusion.geo.zones import ZoneIndex
from fusion.settings import FusionSettings
from fusion.tracks import Fix, ShardState, StationLife, Track
from schemas.alerts import AlertRule, Severity

MAX_SILENCES = 32
"""Long silences remembered per station (older ones no longer matter for a gap)."""


def station_heard_between(life: StationLife | None, start_t: float, end_t: float) -> bool:
    """Was the station heard at some time in (start_t, end_t]?"""
    if life is None:
        return False
    if life.last_t <= start_t:
        return False
    # Heard after start_t; deaf throughout only if one silence covers the whole interval.
    return not any(
        quiet_from <= start_t and quiet_to > end_t for quiet_from, quiet_to in life.silences
    )


def hear_station(state: ShardState, station: str, t: float, quiet_s: float) -> None:
    """Note that ``station`` was heard at ``t``; a silence longer than ``quiet_s`` before
    it is remembered."""
    life = state.stations.get(station)
    if life is None:
        state.stations[station] = StationLife(t)
        return
    if t <= life.last_t:
        return
    if t - life.last_t > quiet_s:
        life.silences.append((life.last_t, t))
        del life.silences[:-MAX_SILENCES]
    life.last_t = t


class GapDetector(Detector):
    def __init__(
        self,
        settings: FusionSettings,
        engine: AlertEngine,
        zones: ZoneIndex,
        shore_nm: Callable[[float, float], float],
    ) -> None:
        """``shore_nm(lat, lon)``: distance to shore, asked only when a gap is judged."""
        super().__init__(settings, engine)
        self.zones = zones
        self.shore_nm = shore_nm

    def gap_s(self, track: Track) -> float:
        if track.gap_zone_s is not None:
            return min(track.gap_zone_s, self.settings.gap_s)
        return self.settings.gap_s

    def eligible(self, track: Track) -> bool:
        """In a zone asking for gaps, or away from port and shore at the last fix (GFW:
        >= 50 nm)."""
        if track.gap_zone is not None:
            return True
        if track.gap_in_port or track.last is None:
            return False
        track.gap_shore_nm = self.shore_nm(track.last.lat, track.last.lon)
        return track.gap_shore_nm >= self.settings.gap_min_shore_nm

    def remember(self, track: Track, position: PositionInput) -> None:
        """What the gap rule needs about the fix about to become the vessel's last."""
        track.gap_shore_nm = None
        track.gap_in_port = position.in_port
        track.gap_zone = track.gap_zone_s = None
        if not position.inside:
            return
        for zone_id in sorted(position.inside):
            zone = self.zones.zones.get(zone_id)
            zone_gap_s = zone.rules.gap_s if zone is not None else None
            if zone_gap_s is not None and (
                track.gap_zone_s is None or zone_gap_s < track.gap_zone_s
            ):
                track.gap_zone, track.gap_zone_s = zone_id, zone_gap_s

    def is_dark(self, state: ShardState, last: Fix, until_t: float) -> bool:
        if not self.settings.gap_coverage_check or last.station is None:
            return True
        # Other vessels' last reports from the same outage trail the vessel's own by a
        # little: the station must be heard well after the vessel's last fix.
        slack = self.coverage_slack_s(until_t - last.t)
        return station_heard_between(state.stations.get(last.station), last.t + slack, until_t)

    def on_position(self, state: ShardState, track: Track, position: PositionInput) -> None:
        last = track.last
        fix = position.fix
        subject = str(track.mmsi)
        if last is not None and fix.t - last.t > self.gap_s(track):
            if not self.engine.is_open(state, AlertRule.AIS_GAP, subject):
                self._open(state, track, last)
            self._close(state, track, last, fix)
        self.remember(track, position)
        # One timer per vessel: a later deadline leaves the earlier entry in place (it is
        # moved on when it comes due); only an earlier one (a zone asking for a shorter
        # gap) needs an entry of its own. One entry per position grew the heap by every
        # position of the last gap_s.
        due = fix.t + self.gap_s(track)
        if track.gap_due is None or due < track.gap_due:
            track.gap_due = due
            heapq.heappush(state.gap_timers, (due, track.mmsi))

    def on_watermark(self, state: ShardState, watermark_t: float) -> None:
        timers = state.gap_timers
        while timers and timers[0][0] <= watermark_t:
            deadline, mmsi = heapq.heappop(timers)
            track = state.tracks.get(mmsi)
            if track is None or (track.gap_due is not None and track.gap_due != deadline):
                continue  # superseded by an earlier deadline, already handled
            track.gap_due = None
            last = track.last
            if last is None:
                continue
            due = last.t + self.gap_s(track)
            if due > deadline:
                # Heard since: the timer moves on to the latest fix's deadline (popped in
                # this same loop if the watermark has passed it too).
                track.gap_due = due
                heapq.heappush(timers, (due, mmsi))
            elif due == deadline:
                self._open(state, track, last)

    def coverage_slack_s(self, gap_s: float) -> float:
        return min(self.settings.gap_coverage_slack_s, gap_s / 2)

    def _open(self, state: ShardState, track: Track, last: Fix) -> None:
        deadline = last.t + self.gap_s(track)
        if not self.eligible(track) or not self.is_dark(state, last, deadline):
            return
        name = vessel_label(track.mmsi, track.identity.name)
        self.engine.open(
            state,
            AlertRule.AIS_GAP,
            str(track.mmsi),
            started_t=last.t,
            at_t=deadline,
            severity=Severity.MEDIUM.value,
            score=0.5,
            title=f"{name} silent for over {(deadline - last.t) / 3600:g} h"
            + (f" in {track.gap_zone}" if track.gap_zone else " away from shore"),
            mmsis=[track.mmsi],
            lat=last.lat,
            lon=last.lon,
            evidence={
                "last_fix": fix_evidence(last),
                "shore_nm": None if track.gap_shore_nm is None else round(track.gap_shore_nm, 1),
                "gap_threshold_s": deadline - last.t,
                "zone": track.gap_zone,
                "station": last.station,
            },
        )

    def _close(self, state: ShardState, track: Track, last: Fix, fix: Fix) -> None:
        opened = self.engine.get(state, AlertRule.AIS_GAP, str(track.mmsi))
        if opened is None:
            return
        covered_m = distance_m(last.lat, last.lon, fix.lat, fix.lon)
        self.engine.close(
            state,
            AlertRule.AIS_GAP,
            str(track.mmsi),
            at_t=fix.t,
            lat=fix.lat,
            lon=fix.lon,
            evidence={
                **opened.fields.get("evidence", {}),
                "reappeared": fix_evidence(fix),
                "gap_s": fix.t - last.t,
                "distance_nm": round(covered_m / METRES_PER_NM, 2),
                "ended_at": at(fix.t).isoformat(),
            },
        )
