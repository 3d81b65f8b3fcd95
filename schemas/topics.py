"""Every Kafka topic Lookout uses, named in one place (ARCHITECTURE.md, "Topics")."""

from __future__ import annotations

from enum import StrEnum


class Topic(StrEnum):
    AIS_POSITIONS = "ais.positions"
    """Key MMSI, value PositionReport; time-based retention."""
    AIS_STATIC = "ais.static"
    """Key MMSI, value StaticReport; compacted (latest identity per vessel)."""
    AIS_REJECTS = "ais.rejects"
    """Key source, value RejectRecord: raw sentence(s) and why they were refused."""
    PATROL_REPORTS = "patrol.reports"
    """Key report id, value PatrolReport."""
    CONFIG_GEOFENCES = "config.geofences"
    """Key geofence id, value Geofence or a tombstone on delete; compacted."""
    CONFIG_WATCHLIST = "config.watchlist"
    """Key entry id, value WatchlistEntry or a tombstone on delete; compacted."""
    FUSION_ALERTS = "fusion.alerts"
    """Key alert id, value Alert (opened, updated, closed); time-based retention."""
    AIS_SAFETY = "ais.safety"
    """Key MMSI, value SafetyMessage (AIS types 12 and 14: e.g. SART ACTIVE); time-based."""
    FUSION_CELLS = "fusion.cells"
    """Fusion's internal topic: key grid cell id, value a position or a sighting placed in
    that cell (near a border also in the neighbour's) for the pair detectors; time-based."""
    DEADLETTER = "deadletter"
    """Key original topic; value the original bytes, headers the original headers plus
    ``dlq_*`` headers (reason, topic, partition, offset, consumer); time-based, long."""


COMPACTED_TOPICS: frozenset[Topic] = frozenset(
    {Topic.AIS_STATIC, Topic.CONFIG_GEOFENCES, Topic.CONFIG_WATCHLIST}
)
"""Topics that are tables: readers reduce them by key (last value wins, a tombstone deletes)."""
