-- Webhooks as the dispatcher delivers them (extends 006): payload format, area filter,
-- secret rotation, endpoint disabling, the rendered body of each delivery, a lease for the
-- dispatcher that claimed it, a log row per attempt, and notices for admins.

ALTER TABLE webhook_subscriptions
    ADD COLUMN IF NOT EXISTS format text NOT NULL DEFAULT 'cloudevents'
        CHECK (format IN ('cloudevents', 'cap')),
    -- GeoJSON Polygon or MultiPolygon (WGS 84); 006's bounding-box columns hold its bounds.
    ADD COLUMN IF NOT EXISTS area jsonb,
    -- Secret rotation: the previous secret also signs until previous_secret_until.
    ADD COLUMN IF NOT EXISTS previous_secret text,
    ADD COLUMN IF NOT EXISTS previous_secret_until timestamptz,
    -- Since when every attempt has failed (null after any success); 5 days disables.
    ADD COLUMN IF NOT EXISTS failing_since timestamptz,
    ADD COLUMN IF NOT EXISTS disabled_at timestamptz,
    ADD COLUMN IF NOT EXISTS disabled_reason text,
    ADD COLUMN IF NOT EXISTS created_by_key uuid;

ALTER TABLE webhook_deliveries
    -- Sent as webhook-id: the alert event's deterministic id (the record's ce_id), the
    -- same for every attempt and redelivery. event_key (006) holds it too, for uniqueness.
    ADD COLUMN IF NOT EXISTS webhook_id text NOT NULL DEFAULT '',
    ADD COLUMN IF NOT EXISTS event_time timestamptz,
    -- The exact bytes signed and sent (CloudEvents JSON or CAP XML), rendered once.
    ADD COLUMN IF NOT EXISTS body text NOT NULL DEFAULT '',
    ADD COLUMN IF NOT EXISTS content_type text NOT NULL DEFAULT 'application/json',
    -- A dispatcher owns a claimed delivery until then; one that died gives it back.
    ADD COLUMN IF NOT EXISTS claimed_until timestamptz,
    ADD COLUMN IF NOT EXISTS redeliveries integer NOT NULL DEFAULT 0;

CREATE INDEX IF NOT EXISTS webhook_deliveries_thread
    ON webhook_deliveries (subscription_id, alert_id, event_time);
CREATE INDEX IF NOT EXISTS webhook_deliveries_subscription_created
    ON webhook_deliveries (subscription_id, created_at DESC);

-- The delivery log: one row per attempt.
CREATE TABLE IF NOT EXISTS webhook_attempts (
    attempt_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id         uuid NOT NULL REFERENCES webhook_deliveries (delivery_id)
                            ON DELETE CASCADE,
    subscription_id     uuid NOT NULL,
    attempted_at        timestamptz NOT NULL,
    outcome             text NOT NULL
                            CHECK (outcome IN ('delivered', 'failed', 'timeout', 'refused', 'error')),
    status_code         integer,
    latency_ms          real,
    response_excerpt    text,
    error               text
);
CREATE INDEX IF NOT EXISTS webhook_attempts_delivery ON webhook_attempts (delivery_id, attempt_id);
CREATE INDEX IF NOT EXISTS webhook_attempts_subscription
    ON webhook_attempts (subscription_id, attempted_at);

-- What admins must see on the page (a disabled endpoint, say), until acknowledged.
CREATE TABLE IF NOT EXISTS admin_notices (
    notice_id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at                  timestamptz NOT NULL DEFAULT now(),
    agency_id           text REFERENCES agencies (agency_id),
    kind                text NOT NULL,            -- e.g. 'webhook_disabled'
    resource            text NOT NULL,
    resource_id         text,
    message             text NOT NULL,
    acknowledged_at     timestamptz
);
CREATE INDEX IF NOT EXISTS admin_notices_open ON admin_notices (at) WHERE acknowledged_at IS NULL;
