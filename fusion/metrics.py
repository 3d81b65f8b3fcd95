"""Prometheus metrics of the fusion service."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RECORDS = Counter("lookout_fusion_records_total", "Records fusion read.", ["topic"])
REFUSED = Counter(
    "lookout_fusion_refused_total",
    "Records fusion could not use (sent to the dead-letter topic or skipped), by reason.",
    ["topic", "reason"],
)
LATE = Counter(
    "lookout_fusion_late_total", "Positions older than the watermark: counted, not applied."
)
ALERT_EVENTS = Counter(
    "lookout_fusion_alert_events_total", "Alert events published.", ["rule", "change"]
)
CHECKPOINTS = Counter("lookout_fusion_checkpoints_total", "Partition states checkpointed.")
RETRIES = Counter("lookout_fusion_retries_total", "Publishes or checkpoints retried.")
BATCH_SECONDS = Histogram("lookout_fusion_batch_seconds", "Time to process one micro-batch.")
HELD = Gauge(
    "lookout_fusion_held_records",
    "Records fetched and held until every input with lag has caught up in event time.",
)
WATERMARK = Gauge(
    "lookout_fusion_watermark_seconds", "Event-time watermark per partition (POSIX s).", ["shard"]
)
CONFIG_REFUSED = Counter(
    "lookout_fusion_config_refused_total",
    "Config records refused (geofence, watchlist).",
    ["topic"],
)
CELL_LATE = Counter(
    "lookout_fusion_cell_late_total",
    "Positions that reached the cell stage behind its watermark: left out of the rendezvous "
    "rule (still matched against sightings).",
)
CELL_RECORDS = Counter(
    "lookout_fusion_cell_records_total",
    "Positions and sightings the per-MMSI stage placed in grid cells (fusion.cells).",
    ["kind"],
)
