-- Alerts and their life cycle. Fusion owns what the condition is (rule, severity,
-- evidence, started/updated/ended); the watch floor owns acknowledgement and notes.
-- A time series partitioned by started_at: an alert's id derives from its rule, subject
-- and start, so started_at never changes for an id and (alert_id, started_at) is unique.
CREATE TABLE IF NOT EXISTS alerts (
    alert_id            uuid NOT NULL,
    started_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    ended_at            timestamptz,
    rule                text NOT NULL,
    change              text NOT NULL,
    status              text NOT NULL CHECK (status IN ('open', 'acknowledged', 'escalated', 'closed')),
    severity            text NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    score               real NOT NULL,
    subject             text NOT NULL,
    mmsis               integer[] NOT NULL DEFAULT '{}',
    title               text NOT NULL,
    lat                 double precision,
    lon                 double precision,
    geofence_id         text,
    evidence            jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- Set when a patrol report contributed (dark target): the sharing rule applies to it.
    source_agency       text,
    acknowledged_by     text,
    acknowledged_at     timestamptz,
    closed_by           text,
    notes               text NOT NULL DEFAULT ''
) /*@time_partitioned*/;

CREATE UNIQUE INDEX IF NOT EXISTS alerts_id ON alerts (alert_id, started_at);
CREATE INDEX IF NOT EXISTS alerts_started_brin ON alerts USING brin (started_at);
CREATE INDEX IF NOT EXISTS alerts_updated ON alerts (updated_at);
CREATE INDEX IF NOT EXISTS alerts_mmsis ON alerts USING gin (mmsis);
CREATE INDEX IF NOT EXISTS alerts_open ON alerts (severity, updated_at) WHERE status <> 'closed';

-- @time_series alerts
