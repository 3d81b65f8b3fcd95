"""Prometheus counters of the ingest service."""

from prometheus_client import Counter

LINES_READ = Counter("lookout_ingest_lines_read_total", "Lines read from feeds", ["source"])
DECODED = Counter(
    "lookout_ingest_decoded_total",
    "AIS messages decoded into typed events (a type 19 or 21 gives two)",
    ["source", "msg_type"],
)
REPAIRED = Counter(
    "lookout_ingest_repaired_total",
    "Optional fields sent out of range and published as None (noted on the event's repairs)",
    ["source", "field"],
)
REJECTED = Counter(
    "lookout_ingest_rejected_total", "Reject records published", ["source", "reason"]
)
RECONNECTS = Counter(
    "lookout_ingest_reconnects_total", "Times a TCP feed was (re)connected", ["source"]
)
PUBLISH_FAILURES = Counter(
    "lookout_ingest_publish_failures_total",
    "Batches the bus refused; they are kept and published again",
    ["source"],
)
