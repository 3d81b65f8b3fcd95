"""Fusion without the bus: records in (one micro-batch), alert events out.

Per partition of the co-keyed topics (``ais.positions`` and ``ais.static`` partition p hold
the same MMSIs) there is one ``ShardState``. A batch is applied partition by partition:
identities and positions merged in event-time order. Geometry is done once for the whole
partition's batch (zones through the STRtree, distance to shore for the fixes that need
it), then each position goes through the detectors in order, with the watermark advanced
before it, so the outcome depends only on the order of the records, never on where one
batch ended and the next began, nor on the wall clock.

Records below a partition's checkpointed offset are already reflected in its state
(redelivered after a restart) and are skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from pydantic import ValidationError

from bus.base import Outgoing, Record
from fusion.cells.routing import CellRouter
from fusion.cells.wire import CellMark, CellSighting
from fusion.detectors.base import Detector, PositionInput, StaticInput
from fusion.detectors.distress import DistressDetector
from fusion.detectors.gap import GapDetector, hear_station
from fusion.detectors.geofence import GeofenceDetector
from fusion.detectors.loitering import LoiteringDetector
from fusion.detectors.spoofing import SpoofingDetector
from fusion.detectors.watchlist import WatchlistDetector, WatchlistIndex
from fusion.engine import AlertEngine
from fusion.geo.cells import cell_name, cell_of
from fusion.geo.coastline import Coastline, natural_earth_coastline
from fusion.geo.zones import ZoneIndex
from fusion.metrics import LATE, RECORDS, WATERMARK
from fusion.refusals import Refused, refuse
from fusion.settings import FusionSettings
from fusion.sightings import sea_report
from fusion.tracks import Fix, Identity, ShardState, Track
from fusion.watermark import watermark
from fusion.wire import (
    VESSEL_POSITION_TYPES,
    PositionView,
    StaticView,
    WireError,
    read_position,
    read_static,
)
from schemas.config import Geofence, WatchlistEntry
from schemas.envelope import EnvelopeError
from schemas.patrol import PatrolReport
from schemas.safety import SafetyMessage
from schemas.topics import Topic


@dataclass
class FusionTopics:
    """The topic names fusion reads and writes (tests on a shared broker rename them)."""

    positions: str = Topic.AIS_POSITIONS.value
    static: str = Topic.AIS_STATIC.value
    reports: str = Topic.PATROL_REPORTS.value
    alerts: str = Topic.FUSION_ALERTS.value
    safety: str = Topic.AIS_SAFETY.value
    geofences: str = Topic.CONFIG_GEOFENCES.value
    watchlist: str = Topic.CONFIG_WATCHLIST.value
    cells: str = Topic.FUSION_CELLS.value

    def shard_topics(self) -> tuple[str, ...]:
        """Read together, partition p of each by one member. ``ais.safety`` is keyed by
        MMSI like the positions; ``patrol.reports`` (keyed by report id) comes along for
        the distress detector, which clusters across every partition a member owns."""
        return (self.positions, self.static, self.safety, self.reports)


@dataclass
class BatchResult:
    outgoing: list[Outgoing] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)


class Fusion:
    """The detectors and the alert engine over the partitions this instance owns."""

    def __init__(
        self,
        settings: FusionSettings,
        *,
        topics: FusionTopics | None = None,
        coastline: Coastline | None = None,
    ) -> None:
        self.settings = settings
        self.topics = topics or FusionTopics()
        self.coastline = coastline or natural_earth_coastline()
        self.engine = AlertEngine(settings.update_cooldown_s, self.topics.alerts)
        self.zones = ZoneIndex([], settings.geofence_hysteresis_m)
        self.watchlist = WatchlistIndex()
        self.geofence = GeofenceDetector(settings, self.engine, self.zones)
        self.gap = GapDetector(settings, self.engine, self.zones, self._shore_of)
        self.loitering = LoiteringDetector(settings, self.engine, self.zones)
        self.watchlisted = WatchlistDetector(settings, self.engine, self.watchlist)
        self.states: dict[int, ShardState] = {}
        self.distress = DistressDetector(settings, self.engine, self.states)
        self.detectors: list[Detector] = [
            self.geofence,
            self.gap,
            self.loitering,
            SpoofingDetector(settings, self.engine),
            self.watchlisted,
            self.distress,
        ]
        self._position_detectors: list[Detector] = []
        self._watermark_detectors: list[Detector] = []
        self._lateness_s = settings.allowed_lateness_s
        self._slow_kn = max(settings.loiter_max_speed_kn, settings.rendezvous_max_speed_kn)
        self._quiet_s = self.gap.coverage_slack_s(settings.gap_s)
        self._cells = CellRouter(settings.cell_deg)
        self._cell_margin_m = self._pair_margin_m([])
        self.cell_partitions = 0
        """Partitions of ``fusion.cells`` (the service sets them; 0: no marks are sent)."""
        self.source_partitions = 0
        """Partitions of ``ais.positions``, told to the cell stage with every mark."""
        self._inputs = frozenset(self.topics.shard_topics())

    def _pair_margin_m(self, zones: list[Geofence]) -> float:
        """How far from a cell border a position is also sent to the neighbour cell: the
        longest pair distance (dark target, rendezvous, a zone's rendezvous rule)."""
        s = self.settings
        zone_m = [z.rules.rendezvous_distance_m or 0.0 for z in zones]
        return max(s.dark_target_radius_m, s.rendezvous_max_distance_m, *zone_m)

    # --- configuration (live) ---------------------------------------------------------

    def set_zones(self, zones: Iterable[Geofence]) -> None:
        """Replace the active zones; vessels inside a zone that is gone leave it."""
        active = list(zones)
        index = ZoneIndex(active, self.settings.geofence_hysteresis_m)
        self._cell_margin_m = self._pair_margin_m(active)
        gone = set(self.zones.zones) - set(index.zones)
        self.zones = self.geofence.zones = self.gap.zones = self.loitering.zones = index
        for state in self.states.values():
            mark = watermark(state, self.settings.allowed_lateness_s)
            if mark is None:
                continue
            for zone_id in sorted(gone):
                self.geofence.zone_removed(state, zone_id, mark)

    def set_watchlist(self, entries: Iterable[WatchlistEntry]) -> None:
        index = WatchlistIndex.of(list(entries))
        gone = set(self.watchlist.entries) - set(index.entries)
        self.watchlist = self.watchlisted.index = index
        for state in self.states.values():
            mark = watermark(state, self.settings.allowed_lateness_s)
            if mark is None:
                continue
            for entry_id in sorted(gone):
                self.watchlisted.entry_removed(state, entry_id, mark)

    # --- records ----------------------------------------------------------------------

    def process(self, records: Sequence[Record]) -> BatchResult:
        """Apply records; returns the alert events to publish and what was refused. Each
        partition's records are applied in the order given (``fusion.ordering`` makes it
        event-time order across the inputs); every record's partition must be owned."""
        result = BatchResult()
        by_shard: dict[int, list[Record]] = {}
        inputs = self._inputs
        counts: dict[str, int] = {}
        for record in records:
            topic = record.topic
            counts[topic] = counts.get(topic, 0) + 1
            if topic in inputs:
                mine = by_shard.get(record.partition)
                if mine is None:
                    mine = by_shard[record.partition] = []
                mine.append(record)
        for topic, count in counts.items():
            RECORDS.labels(topic).inc(count)
        # Each detector is told only of what it overrides (these run once per position).
        self._position_detectors = [
            d for d in self.detectors if type(d).on_position is not Detector.on_position
        ]
        self._watermark_detectors = [
            d for d in self.detectors if type(d).on_watermark is not Detector.on_watermark
        ]
        for shard in sorted(by_shard):
            state = self.states[shard]
            self._shard(state, by_shard[shard], result)
            self._batch_end(state)
        result.outgoing.extend(self.engine.take())
        result.outgoing.extend(self.cell_marks(by_shard, idle=False))
        return result

    def cell_marks(self, shards: Iterable[int], *, idle: bool) -> list[Outgoing]:
        """What the batch routed to cells, one message per cell partition, ending with each
        partition's watermark, sent to every cell partition after its positions (the cell
        stage's watermark is the lowest of them: ``fusion.cells.wire.CellMark``)."""
        marks: list[CellMark] = []
        for shard in sorted(shards) if self.cell_partitions else ():
            state = self.states.get(shard)
            mark = None if state is None else watermark(state, self.settings.allowed_lateness_s)
            if mark is None and not idle:
                continue
            marks.append(CellMark(shard, self.source_partitions, mark, idle))
        return self._cells.take(self.topics.cells, self.cell_partitions, self._cell_margin_m, marks)

    def _fresh(self, state: ShardState, records: list[Record]) -> list[Record]:
        """Drop records the state already reflects (redelivered after a restart)."""
        offsets = state.offsets
        fresh = []
        for record in records:
            if record.offset >= offsets.get(record.topic, 0):
                offsets[record.topic] = record.offset + 1
                fresh.append(record)
        return fresh

    def _advance(self, state: ShardState, event_t: float) -> None:
        if state.max_event_t is None or event_t > state.max_event_t:
            state.max_event_t = event_t
            mark = event_t - self._lateness_s
            for detector in self._watermark_detectors:
                detector.on_watermark(state, mark)

    def _shard(self, state: ShardState, records: list[Record], result: BatchResult) -> None:
        """One partition's records, applied in the order given. Geometry is done first for
        all its positions at once (zones, distance to shore); identities, safety messages
        and reports are applied among them where they stand."""
        topics = self.topics
        steps: list[tuple[int, int]] = []
        """(kind, index into that kind's list), in the order to apply."""
        views: list[PositionView] = []
        identities: list[StaticView] = []
        messages: list[SafetyMessage] = []
        reports: list[PatrolReport] = []
        for record in self._fresh(state, records):
            topic = record.topic
            if topic == topics.positions:
                try:
                    view = read_position(record)
                except WireError as exc:
                    refuse(result.refused, record, str(exc))
                    continue
                if (
                    view.msg_type in VESSEL_POSITION_TYPES
                    and view.lat is not None
                    and view.lon is not None
                ):
                    steps.append((_POSITION, len(views)))
                    views.append(view)
            elif topic == topics.static:
                try:
                    identities.append(read_static(record))
                except WireError as exc:
                    refuse(result.refused, record, str(exc))
                    continue
                steps.append((_STATIC, len(identities) - 1))
            elif topic == topics.safety:
                try:
                    messages.append(record.decode(SafetyMessage))
                except (EnvelopeError, ValidationError, ValueError) as exc:
                    refuse(result.refused, record, str(exc))
                    continue
                steps.append((_SAFETY, len(messages) - 1))
            else:
                try:
                    reports.append(
                        sea_report(record, self.coastline, self.settings.report_max_inland_nm)
                    )
                except (EnvelopeError, ValidationError, ValueError) as exc:
                    refuse(result.refused, record, str(exc))
                    continue
                steps.append((_REPORT, len(reports) - 1))
        n = len(views)
        if n:
            lats = np.fromiter((v.lat for v in views), dtype=float, count=n)
            lons = np.fromiter((v.lon for v in views), dtype=float, count=n)
            hits = self.zones.hits(lats, lons)
            # Plain Python lists: indexing a numpy array per position costs more than a list.
            shore: list[float] = self._shore(views, lats, lons).tolist()
            in_port: list[bool] = hits.in_port.tolist()
            inside, near = hits.inside, hits.near
        for kind, i in steps:
            if kind == _POSITION:
                view = views[i]
                t = view.event_time.timestamp()
                self._position(state, view, t, inside[i], near[i], in_port[i], shore[i])
            elif kind == _STATIC:
                # Identities never move the watermark and are never late (a table of who
                # is who, read when it comes).
                self._identity(state, identities[i])
            elif kind == _SAFETY:
                # Never late, never moves the watermark: a distress signal counts whenever
                # it arrives; placed at the sender's last position applied before it.
                self.distress.on_safety(state, messages[i])
            else:
                # A report's time is a person's, not the feed's: it moves no watermark.
                self.distress.on_report(state, reports[i])
                self._sighting_to_cell(reports[i])

    def _identity(self, state: ShardState, view: StaticView) -> None:
        t = view.event_time.timestamp()
        track = state.track(view.mmsi)
        before = track.identity
        track.identity = Identity(
            name=_clean(view.name) or before.name,
            callsign=_clean(view.callsign) or before.callsign,
            imo=view.imo or before.imo,
            ship_type=view.ship_type or before.ship_type,
        )
        static = StaticInput(view.mmsi, t, track.identity)
        for detector in self.detectors:
            detector.on_static(state, track, static, before)

    def _position(
        self,
        state: ShardState,
        view: PositionView,
        t: float,
        inside: frozenset[str],
        near: frozenset[str],
        in_port: bool,
        shore_nm: float,
    ) -> None:
        """One position through the detectors (``shore_nm`` NaN: not computed)."""
        if state.max_event_t is not None and t < state.max_event_t - self._lateness_s:
            state.late += 1  # older than the watermark
            LATE.inc()
            return
        station = view.station or view.source or None
        if station is not None:
            hear_station(state, station, t, self._quiet_s)
        self._advance(state, t)
        track = state.track(view.mmsi)
        if track.last is not None and t < track.last.t:
            state.late += 1  # older than this vessel's latest fix: out of order
            LATE.inc()
            return
        flags = view.mmsi_info
        position = PositionInput(
            view.mmsi,
            Fix(t, view.lat, view.lon, view.speed_kn, station),  # type: ignore[arg-type]
            inside,
            near,
            in_port,
            None if shore_nm != shore_nm else shore_nm,  # NaN is the only float unequal to itself
            flags.valid,
            flags.placeholder,
            flags.reason,
            view.nav_status,
        )
        for detector in self._position_detectors:
            detector.on_position(state, track, position)
        track.last = position.fix
        self._to_cells(track, position)

    def _to_cells(self, track: Track, position: PositionInput) -> None:
        """The position for the pair detectors, in its grid cell and in every neighbour
        cell within a pair distance of it (``fusion.geo.cells``)."""
        fix = position.fix
        rendezvous_m = rendezvous_s = None
        if position.inside:
            for zone_id in sorted(position.inside):
                rules = self.zones.zones[zone_id].rules
                if rules.rendezvous_distance_m is not None or rules.rendezvous_min_s is not None:
                    rendezvous_m = rules.rendezvous_distance_m
                    rendezvous_s = rules.rendezvous_min_s
                    break
        # The cells are found for the whole batch at its end (``CellRouter.take``).
        self._cells.rows.append(
            (
                track.mmsi,
                fix.t,
                fix.lat,
                fix.lon,
                fix.speed_kn,
                position.shore_nm,
                position.in_port,
                track.identity.ship_type,
                bool(track.watch),
                rendezvous_m,
                rendezvous_s,
                track.identity.name,
            )
        )

    def _sighting_to_cell(self, report: PatrolReport) -> None:
        """The sighting for the dark-target rule, in its own cell only (positions near it
        reach that cell from the neighbours). Its id and position, never its narrative."""
        cell = cell_name(cell_of(report.lat, report.lon, self.settings.cell_deg))
        sighting = CellSighting(
            cell,
            str(report.report_id),
            report.agency,
            report.observed_at.timestamp(),
            report.lat,
            report.lon,
            report.uncertainty_m,
            report.activity.value,
            report.persons_on_board,
        )
        self._cells.sighting(sighting)

    def _shore_of(self, lat: float, lon: float) -> float:
        one = self.coastline.distance_nm(
            np.array([lat]), np.array([lon]), self.settings.shore_search_nm
        )
        return float(one[0])

    def _shore(self, views: list[PositionView], lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
        """Distance to shore for the slow fixes (loitering, rendezvous), on the whole batch;
        the gap rule asks for its one fix when it judges a gap."""
        need = np.fromiter(
            (v.speed_kn is not None and v.speed_kn < self._slow_kn for v in views),
            dtype=bool,
            count=len(views),
        )
        shore = np.full(len(views), np.nan)
        where = np.flatnonzero(need)
        shore[where] = self.coastline.distance_nm(
            lats[where], lons[where], self.settings.shore_search_nm
        )
        return shore

    def _batch_end(self, state: ShardState) -> None:
        mark = watermark(state, self.settings.allowed_lateness_s)
        if mark is not None:
            self.watchlisted.expire(state, mark)
            WATERMARK.labels(str(state.shard)).set(mark)


_STATIC, _POSITION, _SAFETY, _REPORT = range(4)
"""Kinds of the steps of ``Fusion._shard``."""


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    return value.strip().rstrip("@").strip() or None
