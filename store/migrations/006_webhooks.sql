-- Webhook subscriptions (Standard Webhooks) and their deliveries. The retry schedule is
-- persisted, so a restarted dispatcher resumes every pending delivery: none is dropped.
CREATE TABLE IF NOT EXISTS webhook_subscriptions (
    subscription_id     uuid PRIMARY KEY,
    agency_id           text NOT NULL REFERENCES agencies (agency_id),
    url                 text NOT NULL,
    secret              text NOT NULL,            -- 'whsec_…' signing secret
    description         text NOT NULL DEFAULT '',
    -- Filters; null means "any".
    rules               text[],
    min_severity        text CHECK (min_severity IN ('low', 'medium', 'high', 'critical')),
    min_lon             double precision,
    min_lat             double precision,
    max_lon             double precision,
    max_lat             double precision,
    active              boolean NOT NULL DEFAULT true,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS webhook_subscriptions_agency ON webhook_subscriptions (agency_id);

CREATE TABLE IF NOT EXISTS webhook_deliveries (
    delivery_id         uuid PRIMARY KEY,         -- sent as webhook-id; receivers dedupe on it
    subscription_id     uuid NOT NULL REFERENCES webhook_subscriptions (subscription_id)
                            ON DELETE CASCADE,
    alert_id            uuid,
    event_type          text NOT NULL,            -- e.g. 'alert.opened'
    -- One delivery per subscription and alert version (alert id + updated_at + change).
    event_key           text NOT NULL,
    payload             jsonb NOT NULL,
    status              text NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'delivered', 'failed', 'dead')),
    attempts            integer NOT NULL DEFAULT 0,
    next_attempt_at     timestamptz NOT NULL DEFAULT now(),
    last_attempt_at     timestamptz,
    last_status_code    integer,
    last_error          text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    delivered_at        timestamptz,
    UNIQUE (subscription_id, event_key)
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status IN ('pending', 'failed');
CREATE INDEX IF NOT EXISTS webhook_deliveries_alert ON webhook_deliveries (alert_id);
