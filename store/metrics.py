"""Prometheus metrics of the store sink."""

from prometheus_client import Counter, Gauge, Histogram

ROWS_WRITTEN = Counter(
    "lookout_store_rows_written_total", "Rows inserted or updated by the sink", ["table"]
)
BATCHES = Counter("lookout_store_batches_total", "Micro-batches made durable by the sink")
RETRIES = Counter(
    "lookout_store_retries_total", "Batch writes retried (database lost, conflict, fault)"
)
SKIPPED = Counter(
    "lookout_store_skipped_total",
    "Records with nothing to store, by reason (tombstone, no_position)",
    ["topic", "reason"],
)
DEAD_LETTERS = Counter(
    "lookout_store_dead_letters_total",
    "Records the sink sent to the dead-letter topic, by original topic",
    ["topic"],
)
BATCH_SECONDS = Histogram(
    "lookout_store_batch_seconds",
    "Time to write one micro-batch, database transaction included",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
WAITING_FOR_DATABASE = Gauge(
    "lookout_store_waiting_for_database", "1 while the sink waits for a lost database"
)
SINK_DOWN = Gauge(
    "lookout_store_sink_down",
    "1 while the sink cannot write its batch (the reason is on /readyz); nothing committed",
)
