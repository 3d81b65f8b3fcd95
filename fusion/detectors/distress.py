"""Distress (safety of life): people in danger at sea, raised at once as a critical alert.

A signal is any of:

* a position from an AIS-SART (MMSI 970xxxxxx), a man-overboard device (972xxxxxx) or an
  EPIRB-AIS (974xxxxxx) (ITU-R M.585), or any position with navigational status 14
  ("AIS-SART active", ITU-R M.1371);
* a safety-related message (``ais.safety``) whose text reads SART ACTIVE, MOB or MAYDAY
  (``SafetyKind``). SART TEST and MOB TEST raise nothing: a log line and a metric;
* a patrol or community report of ``activity = distress``, or of more than
  ``distress_persons_threshold`` persons on board a vessel described as small, overcrowded
  or unseaworthy (``distress_vessel_words``).

Signals close together are one incident, one alert: a device or report within
``distress_cluster_radius_nm`` of a device still heard in an open incident joins it. The
alert's subject (and so its id) is that of the incident's first signal, whatever joins or
falls silent later. It is never deduplicated away while the signal continues: each new
device, kind or persons estimate is published at once; a moving position at most once per
``update_cooldown_s`` (the engine's), and always with the next change. A device unheard for
``distress_device_silence_s`` leaves the active count (published); an incident with nothing
heard for ``distress_close_after_s`` closes.

The alert carries position, time, kinds, device counts, a persons estimate and report ids:
never a report's narrative, reporter or notes (those stay under the sharing rule in
``patrol_reports``; the alert itself is visible to every agency).

One fusion instance clusters across all the partitions it owns (``states``); with several
instances, devices of one scene whose MMSIs fall on partitions of different instances make
one incident per instance (README, "Safety of life").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from prometheus_client import Counter

from fusion.detectors.base import Detector, PositionInput
from fusion.distress_state import Incident, SeenDevice
from fusion.engine import AlertEngine, at
from fusion.geo.distance import METRES_PER_NM, distance_m
from fusion.settings import FusionSettings
from fusion.tracks import Fix, ShardState, Track
from schemas.alerts import AlertRule, Severity
from schemas.patrol import ObservedActivity, PatrolReport
from schemas.safety import SafetyKind, SafetyMessage

log = structlog.get_logger(__name__)

SIGNALS = Counter(
    "lookout_fusion_distress_signals_total", "Distress signals seen, by kind.", ["kind"]
)
TESTS = Counter(
    "lookout_fusion_distress_tests_total",
    "Device test transmissions (SART TEST, MOB TEST): logged, never alerted.",
    ["kind"],
)

NAV_STATUS_SART_ACTIVE = 14
"""ITU-R M.1371 navigational status 14: AIS-SART (active), MOB-AIS, EPIRB-AIS."""
_BEACONS = {970: "sart_device", 972: "mob_device", 974: "epirb_device"}
"""By the first three of the nine digits (every position passes here: no string work)."""
_TEXT_KINDS = {
    SafetyKind.SART_ACTIVE: "sart_active_text",
    SafetyKind.MOB: "mob_text",
    SafetyKind.MAYDAY: "mayday_text",
}
# The first of these an incident has names it on the watch floor.
_TITLES = {
    "mayday_text": "MAYDAY",
    "sart_device": "AIS-SART active",
    "sart_active_text": "AIS-SART active",
    "mob_device": "Man overboard device active",
    "mob_text": "Man overboard",
    "epirb_device": "EPIRB-AIS active",
    "nav_status_14": "AIS-SART status",
    "report_distress": "Vessel in distress reported",
    "report_overcrowded": "Overcrowded vessel reported",
}
_TEXTS_KEPT = 5


@dataclass(frozen=True, slots=True)
class DistressSignal:
    """One piece of evidence that people are in danger."""

    key: str
    """Who sends it: ``mmsi:970123456`` or ``report:<uuid>``."""
    kind: str
    t: float
    lat: float | None = None
    lon: float | None = None
    mmsi: int | None = None
    persons: int | None = None
    text: str | None = None
    source_agency: str | None = None


def position_signal(mmsi: int, fix: Fix, nav_status: int | None) -> DistressSignal | None:
    kind = _BEACONS.get(mmsi // 1_000_000)
    if kind is None and nav_status == NAV_STATUS_SART_ACTIVE:
        kind = "nav_status_14"
    if kind is None:
        return None
    return DistressSignal(f"mmsi:{mmsi}", kind, fix.t, fix.lat, fix.lon, mmsi=mmsi)


def report_signal(report: PatrolReport, settings: FusionSettings) -> DistressSignal | None:
    if report.activity is ObservedActivity.DISTRESS:
        kind = "report_distress"
    elif (
        report.persons_on_board is not None
        and report.persons_on_board > settings.distress_persons_threshold
        and _described_as_unsafe(report.vessel_description, settings.distress_vessel_words)
    ):
        kind = "report_overcrowded"
    else:
        return None
    return DistressSignal(
        f"report:{report.report_id}",
        kind,
        report.observed_at.timestamp(),
        report.lat,
        report.lon,
        mmsi=report.mmsi,
        persons=report.persons_on_board,
        source_agency=report.agency,
    )


def _described_as_unsafe(description: str, words: list[str]) -> bool:
    found = set(re.findall(r"[a-z]+(?:-[a-z]+)*", description.lower()))
    return any(word.lower() in found for word in words)


class DistressDetector(Detector):
    def __init__(
        self,
        settings: FusionSettings,
        engine: AlertEngine,
        states: Mapping[int, ShardState] | None = None,
    ) -> None:
        super().__init__(settings, engine)
        self.states = states
        """Every partition state of this instance, so devices on different partitions
        cluster (None: only the partition at hand)."""

    # --- the inputs -------------------------------------------------------------------

    def on_position(self, state: ShardState, track: Track, position: PositionInput) -> None:
        signal = position_signal(position.mmsi, position.fix, position.nav_status)
        if signal is not None:
            self.signal(state, signal)

    def on_safety(self, state: ShardState, message: SafetyMessage) -> None:
        """A safety-related message; it is placed at its sender's last known position."""
        if message.kind.is_test:
            TESTS.labels(message.kind.value).inc()
            log.info(
                "distress device test",
                mmsi=message.mmsi,
                kind=message.kind.value,
                text=message.text,
                time=message.event_time.isoformat(),
            )
            return
        kind = _TEXT_KINDS.get(message.kind)
        if kind is None:
            return
        track = state.tracks.get(message.mmsi)
        last = track.last if track is not None else None
        self.signal(
            state,
            DistressSignal(
                f"mmsi:{message.mmsi}",
                kind,
                message.event_time.timestamp(),
                last.lat if last is not None else None,
                last.lon if last is not None else None,
                mmsi=message.mmsi,
                text=message.text,
            ),
        )

    def on_report(self, state: ShardState, report: PatrolReport) -> None:
        signal = report_signal(report, self.settings)
        if signal is not None:
            self.signal(state, signal)

    # --- incidents --------------------------------------------------------------------

    def signal(self, state: ShardState, signal: DistressSignal) -> None:
        """Open an incident for ``signal``, or add it to the one it belongs to."""
        SIGNALS.labels(signal.kind).inc()
        home, incident = self._incident_of(state, signal)
        if incident is None:
            incident = Incident(
                subject=f"distress:{signal.key}", started_t=signal.t, last_t=signal.t
            )
            self._join(incident, signal, state.shard)
            state.distress.incidents[incident.subject] = incident
            self.engine.open(
                state,
                AlertRule.DISTRESS,
                incident.subject,
                started_t=incident.started_t,
                severity=Severity.CRITICAL.value,
                **self._fields(incident),
            )
            return
        news = self._join(incident, signal, state.shard)
        self.engine.update(
            home,
            AlertRule.DISTRESS,
            incident.subject,
            at_t=max(signal.t, incident.started_t),
            force=news,
            **self._fields(incident),
        )

    def on_watermark(self, state: ShardState, watermark_t: float) -> None:
        """Devices of this partition unheard for the silence limit leave their incidents
        (wherever those are held); an incident with none left and nothing heard for
        ``distress_close_after_s`` closes."""
        if not self._any_incident(state):
            return  # the common case, asked once per position
        silence = self.settings.distress_device_silence_s
        for home in self._states(state):
            for subject in list(home.distress.incidents):
                incident = home.distress.incidents[subject]
                gone = [
                    key
                    for key, d in incident.active.items()
                    if d.shard == state.shard and watermark_t - d.t > silence
                ]
                for key in gone:
                    del incident.active[key]
                if (
                    not incident.active
                    and watermark_t - incident.last_t > self.settings.distress_close_after_s
                ):
                    del home.distress.incidents[subject]
                    self.engine.close(
                        home,
                        AlertRule.DISTRESS,
                        subject,
                        at_t=watermark_t,
                        **self._fields(incident),
                    )
                elif gone:
                    self.engine.update(
                        home,
                        AlertRule.DISTRESS,
                        subject,
                        at_t=watermark_t,
                        force=True,
                        **self._fields(incident),
                    )

    def _any_incident(self, state: ShardState) -> bool:
        if state.distress.incidents:
            return True
        return any(home.distress.incidents for home in (self.states or {}).values())

    def _states(self, state: ShardState) -> list[ShardState]:
        if not self.states:
            return [state]
        return [state, *(s for s in self.states.values() if s is not state)]

    def _incident_of(
        self, state: ShardState, signal: DistressSignal
    ) -> tuple[ShardState, Incident | None]:
        """The open incident ``signal`` belongs to (and the state that holds it): the one
        its sender is already in, else one with a device still heard close by."""
        states = self._states(state)
        for home in states:
            for incident in home.distress.incidents.values():
                if signal.key in incident.active or signal.key in incident.seen:
                    return home, incident
        if signal.lat is None or signal.lon is None:
            return state, None
        radius_m = self.settings.distress_cluster_radius_nm * METRES_PER_NM
        for home in states:
            for incident in home.distress.incidents.values():
                for device in incident.active.values():
                    if (
                        device.lat is not None
                        and device.lon is not None
                        and distance_m(signal.lat, signal.lon, device.lat, device.lon) <= radius_m
                    ):
                        return home, incident
        return state, None

    def _join(self, incident: Incident, signal: DistressSignal, shard: int) -> bool:
        """Record ``signal`` in ``incident``; True when the watch floor learns something new
        (a device or report, a kind, a persons estimate, a text, a first position)."""
        news = signal.key not in incident.active or signal.kind not in incident.kinds
        known = incident.active.get(signal.key)
        lat, lon = signal.lat, signal.lon
        if (lat is None or lon is None) and known is not None:
            lat, lon = known.lat, known.lon  # a text keeps its sender's place
        incident.active[signal.key] = SeenDevice(signal.kind, signal.t, shard, lat, lon)
        if signal.key not in incident.seen:
            incident.seen.append(signal.key)
        if signal.kind not in incident.kinds:
            incident.kinds.append(signal.kind)
        if signal.persons is not None and signal.persons > (incident.persons or 0):
            incident.persons = signal.persons
            news = True
        if signal.text and signal.text not in incident.texts:
            incident.texts = [*incident.texts, signal.text][-_TEXTS_KEPT:]
            news = True
        if signal.source_agency and incident.source_agency is None:
            incident.source_agency = signal.source_agency
        if lat is not None and lon is not None and signal.t >= incident.last_t:
            news = news or incident.lat is None
            incident.lat, incident.lon = lat, lon
        incident.last_t = max(incident.last_t, signal.t)
        return news

    def _fields(self, incident: Incident) -> dict[str, Any]:
        active = len(incident.active)
        label = next((_TITLES[k] for k in _TITLES if k in incident.kinds), "Distress")
        devices = sum(1 for key in incident.seen if key.startswith("mmsi:"))
        title = label if active <= 1 else f"{label}: {active} signals"
        mmsis = sorted({int(k.split(":", 1)[1]) for k in incident.seen if k.startswith("mmsi:")})
        reports = [k.split(":", 1)[1] for k in incident.seen if k.startswith("report:")]
        return {
            "title": title,
            "score": 1.0,
            "mmsis": mmsis,
            "lat": incident.lat,
            "lon": incident.lon,
            "source_agency": incident.source_agency,
            "evidence": {
                "kinds": list(incident.kinds),
                "signals_active": active,
                "signals_seen": len(incident.seen),
                "devices_seen": devices,
                "persons_estimate": incident.persons,
                "texts": list(incident.texts),
                "reports": reports,
                # The first report, as the API resolves it into the sighting (which row-level
                # security shows only under the sharing rule).
                "report_id": reports[0] if reports else None,
                "last_signal_at": at(incident.last_t).isoformat(),
                "active": [
                    {
                        "id": key,
                        "kind": d.kind,
                        "time": at(d.t).isoformat(),
                        "lat": d.lat,
                        "lon": d.lon,
                    }
                    for key, d in sorted(incident.active.items())
                ],
            },
        }
