"""Prometheus metrics of the webhook dispatcher."""

from prometheus_client import Counter, Gauge, Histogram

ATTEMPTS = Counter(
    "lookout_webhook_attempts_total",
    "Delivery attempts, by outcome (delivered, failed, timeout, refused, error)",
    ["outcome"],
)
DELIVERIES_CREATED = Counter(
    "lookout_webhook_deliveries_created_total", "Delivery rows written (alert event x subscriber)"
)
GIVEN_UP = Counter(
    "lookout_webhook_deliveries_dead_total", "Deliveries whose whole retry schedule failed"
)
DISABLED = Counter("lookout_webhook_endpoints_disabled_total", "Endpoints disabled", ["reason"])
DEAD_LETTERS = Counter(
    "lookout_webhook_dead_letters_total", "Alert records the dispatcher could not read"
)
IN_FLIGHT = Gauge("lookout_webhook_in_flight", "Deliveries being attempted right now")
ATTEMPT_SECONDS = Histogram(
    "lookout_webhook_attempt_seconds",
    "Time from sending a delivery to its answer",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15),
)
