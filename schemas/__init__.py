"""Wire and API schemas of Lookout: msgspec Structs for the AIS wire events
(``schemas.wire_event``), pydantic v2 for the rest. Imports nothing else of ours."""

from schemas.ais import PositionReport, RejectReason, RejectRecord, StaticReport
from schemas.alerts import Alert, AlertChange, AlertRule, AlertStatus, Severity, alert_id
from schemas.config import Geofence, GeofenceRules, PolygonGeometry, WatchlistEntry, ZoneKind
from schemas.envelope import CloudEventAttributes, EnvelopeError, Event
from schemas.patrol import ObservedActivity, PatrolReport, ReporterKind
from schemas.topics import COMPACTED_TOPICS, Topic
from schemas.vessel import MmsiInfo, MmsiKind

__all__ = [
    "COMPACTED_TOPICS",
    "Alert",
    "AlertChange",
    "AlertRule",
    "AlertStatus",
    "CloudEventAttributes",
    "EnvelopeError",
    "Event",
    "Geofence",
    "GeofenceRules",
    "MmsiInfo",
    "MmsiKind",
    "ObservedActivity",
    "PatrolReport",
    "PolygonGeometry",
    "PositionReport",
    "RejectReason",
    "RejectRecord",
    "ReporterKind",
    "Severity",
    "StaticReport",
    "Topic",
    "WatchlistEntry",
    "ZoneKind",
    "alert_id",
]
