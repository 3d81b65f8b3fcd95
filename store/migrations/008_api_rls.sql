-- The API's database role, and the sharing rule enforced by row-level security.
--
-- The API connects as lookout_api: neither superuser nor owner of any table, without
-- BYPASSRLS, so the policies below bind every query it runs, including those of routes
-- written later. Per request it sets (transaction-local) lookout.agency to the caller's
-- agency; with nothing set, no shared row is visible (fail closed).
--
-- The sharing rule (ARCHITECTURE.md): AIS-derived data is visible to every agency. Patrol
-- reports, and the alerts they caused (alerts.source_agency), are visible to the reporting
-- agency and to agencies that filed at least one report within the sharing window
-- (lookout.sharing_window_days, default 90): contribution is measured from reports actually
-- filed (patrol_reports.received_at), never from a flag.

DO $$
BEGIN
    CREATE ROLE lookout_api LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    -- Roles belong to the whole server: another database of it made it already.
    NULL;
END $$;
-- Whatever it was before, it must not bypass the policies.
ALTER ROLE lookout_api NOSUPERUSER NOBYPASSRLS;

DO $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO lookout_api', current_schema());
END $$;

-- Reading: the picture, tracks, alerts, reports, configuration.
GRANT SELECT ON agencies, vessels, positions, vessel_identity_history, alerts,
    patrol_reports, geofences, watchlist TO lookout_api;
-- Writing: only a person's decision on an alert, and the audit trail.
GRANT UPDATE (status, acknowledged_by, acknowledged_at, closed_by, notes) ON alerts
    TO lookout_api;
GRANT SELECT, INSERT ON audit_log TO lookout_api;

-- The caller's agency for this transaction, or null.
CREATE OR REPLACE FUNCTION lookout_agency() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT nullif(current_setting('lookout.agency', true), '') $$;

-- Reports are read with the timestamp they were filed: the window counts back from now.
CREATE INDEX IF NOT EXISTS patrol_reports_agency_received
    ON patrol_reports (agency_id, received_at);

-- Does the caller's agency contribute (at least one report filed within the window)?
-- SECURITY DEFINER: it counts every agency's reports, which the caller may not see (and a
-- policy on patrol_reports that read patrol_reports under its own policy would recurse).
-- Policies call it as (SELECT lookout_contributes()): an InitPlan, run once per query.
CREATE OR REPLACE FUNCTION lookout_contributes() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path FROM CURRENT
AS $$
    SELECT EXISTS (
        SELECT 1 FROM patrol_reports
        WHERE agency_id = lookout_agency()
          AND received_at >= now() - make_interval(days => coalesce(
                nullif(current_setting('lookout.sharing_window_days', true), '')::int, 90))
    )
$$;
REVOKE ALL ON FUNCTION lookout_contributes() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lookout_contributes() TO lookout_api;

-- May the caller see a row that came from a report of `agency`? The one statement of the
-- rule, used by the policies and by the live stream (api/live.py) alike.
CREATE OR REPLACE FUNCTION lookout_shared_with_caller(agency text) RETURNS boolean
LANGUAGE sql STABLE
AS $$ SELECT agency = lookout_agency() OR lookout_contributes() $$;

ALTER TABLE patrol_reports ENABLE ROW LEVEL SECURITY;
CREATE POLICY patrol_reports_sharing ON patrol_reports FOR ALL TO lookout_api
    USING (agency_id = (SELECT lookout_agency()) OR (SELECT lookout_contributes()));

ALTER TABLE alerts ENABLE ROW LEVEL SECURITY;
-- Permissive policies add up (OR). AIS-derived alerts are everyone's.
CREATE POLICY alerts_ais ON alerts FOR ALL TO lookout_api
    USING (source_agency IS NULL);
-- Safety of life at sea is everyone's business: a distress alert is seen by every agency
-- (the report behind it stays under the sharing rule in patrol_reports).
CREATE POLICY alerts_safety_of_life ON alerts FOR ALL TO lookout_api
    USING (rule = 'distress');
CREATE POLICY alerts_sharing ON alerts FOR ALL TO lookout_api
    USING (source_agency = (SELECT lookout_agency()) OR (SELECT lookout_contributes()));

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_log_own ON audit_log FOR ALL TO lookout_api
    USING (agency_id = (SELECT lookout_agency()));

-- API keys are found by their hash, before any agency is known: the API role gets no
-- privilege on api_keys, only this function, which answers for a live key of a live
-- agency and notes its use.
CREATE OR REPLACE FUNCTION lookout_authenticate(digest bytea)
RETURNS TABLE (key_id uuid, agency_id text, role text, key_sha256 bytea)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path FROM CURRENT
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
        SELECT k.key_id, k.agency_id, k.role, k.key_sha256
        FROM api_keys k JOIN agencies a ON a.agency_id = k.agency_id
        WHERE k.key_sha256 = digest
          AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())
          AND a.disabled_at IS NULL;
    -- Last use to the minute: one row write per key and minute, not per request.
    UPDATE api_keys k SET last_used_at = now()
    WHERE k.key_sha256 = digest
      AND (k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute');
END $$;
REVOKE ALL ON FUNCTION lookout_authenticate(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lookout_authenticate(bytea) TO lookout_api;

-- Live alerts: every write of an alert (fusion's via the sink, a person's via the API)
-- takes the next number of one sequence. Server-sent events carry it as their id, so a
-- client resumes with Last-Event-ID exactly where it stopped.
CREATE SEQUENCE IF NOT EXISTS alert_change_seq;
GRANT USAGE, SELECT ON SEQUENCE alert_change_seq TO lookout_api;
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS change_seq bigint;
CREATE INDEX IF NOT EXISTS alerts_change_seq ON alerts (change_seq);

CREATE OR REPLACE FUNCTION alerts_number_change() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.change_seq := nextval('alert_change_seq');
    RETURN NEW;
END $$;
CREATE TRIGGER alerts_number_change BEFORE INSERT OR UPDATE ON alerts
    FOR EACH ROW EXECUTE FUNCTION alerts_number_change();

-- Area-and-time questions: a coarse grid cell (0.25 degree, about 28 km at the equator)
-- computed by PostgreSQL itself, so it can never disagree with lat/lon and costs the sink
-- no Python per row; (cell, time) lets a polygon read only the cells it covers.
ALTER TABLE positions ADD COLUMN IF NOT EXISTS cell integer
    GENERATED ALWAYS AS ((floor((lat + 90) * 4)::integer * 1440) + floor((lon + 180) * 4)::integer
                         % 1440) STORED;
CREATE INDEX IF NOT EXISTS positions_cell_time ON positions (cell, time);
