"""Prometheus metrics of the bus, shared by both implementations."""

from prometheus_client import Counter, Gauge

PUBLISHED = Counter("lookout_bus_published_total", "Messages made durable", ["topic"])
PUBLISH_FAILURES = Counter(
    "lookout_bus_publish_failures_total", "Batches that failed to publish", ["topic"]
)
CONSUMED = Counter("lookout_bus_consumed_total", "Messages delivered", ["topic", "group"])
LAG = Gauge("lookout_bus_consumer_lag", "Messages behind the end of the partitions", ["group"])
