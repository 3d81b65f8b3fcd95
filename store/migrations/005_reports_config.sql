-- Patrol and community sightings (low volume: a plain table), geofences and watchlist.
CREATE TABLE IF NOT EXISTS patrol_reports (
    report_id           uuid PRIMARY KEY,
    agency_id           text NOT NULL,            -- the sharing rule applies per agency
    reporter_kind       text NOT NULL,
    observed_at         timestamptz NOT NULL,
    received_at         timestamptz NOT NULL,
    lat                 double precision NOT NULL,
    lon                 double precision NOT NULL,
    uncertainty_m       real NOT NULL,
    activity            text NOT NULL,
    vessel_description  text NOT NULL DEFAULT '',
    vessel_name         text,
    mmsi                integer,
    persons_on_board    integer,
    heading_deg         real,
    speed_kn            real,
    notes               text NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS patrol_reports_observed ON patrol_reports (observed_at);
CREATE INDEX IF NOT EXISTS patrol_reports_agency ON patrol_reports (agency_id, observed_at);
CREATE INDEX IF NOT EXISTS patrol_reports_mmsi ON patrol_reports (mmsi) WHERE mmsi IS NOT NULL;

CREATE TABLE IF NOT EXISTS geofences (
    geofence_id         text PRIMARY KEY,
    name                text NOT NULL,
    kind                text NOT NULL,
    geometry            jsonb NOT NULL,           -- GeoJSON Polygon / MultiPolygon, WGS 84
    -- Bounding box of the geometry, so area questions can prefilter without PostGIS.
    min_lon             double precision NOT NULL,
    min_lat             double precision NOT NULL,
    max_lon             double precision NOT NULL,
    max_lat             double precision NOT NULL,
    rules               jsonb NOT NULL DEFAULT '{}'::jsonb,
    owner_agency        text,
    active              boolean NOT NULL DEFAULT true,
    updated_at          timestamptz NOT NULL,
    deleted_at          timestamptz
);

CREATE TABLE IF NOT EXISTS watchlist (
    entry_id            text PRIMARY KEY,
    mmsi                integer,
    imo                 integer,
    callsign            text,
    name                text,
    reason              text NOT NULL,
    severity            text NOT NULL,
    owner_agency        text,
    updated_at          timestamptz NOT NULL,
    deleted_at          timestamptz,
    CHECK (mmsi IS NOT NULL OR imo IS NOT NULL OR callsign IS NOT NULL OR name IS NOT NULL)
);
CREATE INDEX IF NOT EXISTS watchlist_mmsi ON watchlist (mmsi) WHERE mmsi IS NOT NULL;
