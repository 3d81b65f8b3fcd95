-- Patrol assets of the agencies (ships, boats, aircraft): who may be sent to help.
--
-- An asset with AIS is tracked from the feed by its MMSI (its position is the vessels
-- row's); one without reports positions over the API (reported_*). The newer of the two
-- is where it is. Row-level security (the lookout_api role of migration 008): an agency
-- sees its own assets and those other agencies share with partners; it changes only its
-- own. An asset not shared is invisible to every other agency, also in the nearest help
-- listed with an alert, which is computed at read time under these same policies.
CREATE TABLE IF NOT EXISTS assets (
    asset_id              uuid PRIMARY KEY,
    agency_id             text NOT NULL REFERENCES agencies (agency_id),
    name                  text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    kind                  text NOT NULL CHECK (kind IN ('ship', 'boat', 'aircraft')),
    mmsi                  integer CHECK (mmsi BETWEEN 0 AND 999999999),
    cruising_speed_kn     double precision NOT NULL CHECK (cruising_speed_kn > 0),
    max_speed_kn          double precision NOT NULL,
    available             boolean NOT NULL DEFAULT true,
    shared_with_partners  boolean NOT NULL DEFAULT false,
    reported_lat          double precision CHECK (reported_lat BETWEEN -90 AND 90),
    reported_lon          double precision CHECK (reported_lon BETWEEN -180 AND 180),
    reported_at           timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT assets_max_speed CHECK (max_speed_kn >= cruising_speed_kn),
    CONSTRAINT assets_reported_together
        CHECK ((reported_lat IS NULL) = (reported_lon IS NULL)
           AND (reported_lat IS NULL) = (reported_at IS NULL)),
    -- Per agency: a name or an MMSI unique across agencies would tell an agency, by a
    -- refusal, of another's hidden asset.
    CONSTRAINT assets_name UNIQUE (agency_id, name)
);
CREATE UNIQUE INDEX IF NOT EXISTS assets_agency_mmsi ON assets (agency_id, mmsi)
    WHERE mmsi IS NOT NULL;

GRANT SELECT, INSERT, UPDATE ON assets TO lookout_api;
ALTER TABLE assets ENABLE ROW LEVEL SECURITY;
CREATE POLICY assets_visible ON assets FOR SELECT TO lookout_api
    USING (agency_id = (SELECT lookout_agency()) OR shared_with_partners);
CREATE POLICY assets_register ON assets FOR INSERT TO lookout_api
    WITH CHECK (agency_id = (SELECT lookout_agency()));
CREATE POLICY assets_change ON assets FOR UPDATE TO lookout_api
    USING (agency_id = (SELECT lookout_agency()))
    WITH CHECK (agency_id = (SELECT lookout_agency()));
