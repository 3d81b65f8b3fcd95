"""Prometheus metrics of the store sink."""

from prometheus_client import Counter, Gauge, Histogram

ROWS_WRITTEN = Counter(
    "lookout_store_rows_written_total", "Rows inserted or updated by the sink", ["table"]
)
BATCHES = Counter("lookout_store_batches_total", "Micro-batches made durable by the sink")
RETRIES = Counter("lookout_store_retries_total", "Batch writes retried after losing the database")
SKIPPED = Counter(
    "lookout_store_skipped_total",
    "Records the sink did not store, by reason (undecodable, no_position, expired)",
    ["topic", "reason"],
)
BATCH_SECONDS = Histogram(
    "lookout_store_batch_seconds",
    "Time to write one micro-batch, database transaction included",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
WAITING_FOR_DATABASE = Gauge(
    "lookout_store_waiting_for_database", "1 while the sink waits for a lost database"
)
