-- Agencies, their API keys (hashed) and the audit log of who read and changed what.
--
-- The mutual-sharing rule (ARCHITECTURE.md): an agency that contributes reports may see
-- what others contributed. Rows that carry an agency column are where the API issue's
-- row-level security policies attach (SET lookout.agency per request).

CREATE TABLE IF NOT EXISTS agencies (
    agency_id       text PRIMARY KEY CHECK (agency_id ~ '^[A-Za-z0-9_.:-]{1,64}$'),
    name            text NOT NULL,
    country         text,                       -- ISO 3166-1 alpha-2
    -- Whether this agency contributes reports, and therefore may see others' (sharing rule).
    shares_reports  boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    disabled_at     timestamptz
);

CREATE TABLE IF NOT EXISTS api_keys (
    key_id          uuid PRIMARY KEY,
    agency_id       text NOT NULL REFERENCES agencies (agency_id),
    -- Only a SHA-256 of the key is kept; the prefix lets a user recognise a key in lists.
    key_sha256      bytea NOT NULL UNIQUE CHECK (octet_length(key_sha256) = 32),
    key_prefix      text NOT NULL,
    role            text NOT NULL CHECK (role IN ('watch', 'analyst', 'integrator', 'admin')),
    label           text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz,
    revoked_at      timestamptz,
    last_used_at    timestamptz
);
CREATE INDEX IF NOT EXISTS api_keys_agency ON api_keys (agency_id);

CREATE TABLE IF NOT EXISTS audit_log (
    audit_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    agency_id       text REFERENCES agencies (agency_id),
    key_id          uuid REFERENCES api_keys (key_id),
    action          text NOT NULL,              -- e.g. 'read', 'create', 'acknowledge'
    resource        text NOT NULL,              -- e.g. 'alert', 'geofence', 'track'
    resource_id     text,
    detail          jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log USING brin (at);
CREATE INDEX IF NOT EXISTS audit_log_agency_at ON audit_log (agency_id, at);
