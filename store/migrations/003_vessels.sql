-- One row per MMSI: identity (from static reports) and latest position (for the COP).
CREATE TABLE IF NOT EXISTS vessels (
    mmsi                integer PRIMARY KEY,
    -- Identity, as of identity_time (event time of the newest static report applied).
    name                text,
    callsign            text,
    imo                 integer,
    ship_type           smallint,
    to_bow_m            smallint,
    to_stern_m          smallint,
    to_port_m           smallint,
    to_starboard_m      smallint,
    draught_m           real,
    destination         text,
    eta                 text,
    identity_time       timestamptz,
    -- Latest position, as of time (event time of the newest position report applied).
    time                timestamptz,
    lat                 double precision,
    lon                 double precision,
    speed_kn            real,
    course_deg          real,
    heading_deg         smallint,
    nav_status          smallint,
    msg_type            smallint,
    -- What the MMSI's digits say (ITU-R M.585), from the latest report.
    mmsi_valid          boolean NOT NULL DEFAULT true,
    mmsi_kind           text,
    flag_country        text
) WITH (fillfactor = 50);
-- Every position batch rewrites the latest state of most vessels it names. With no index
-- on the moving columns (time, lat, lon) and free room in each page, those are HOT updates
-- (no index writes): measured in bench/store, several times the sink's throughput of a
-- GiST index on point(lon, lat). The COP's box query scans the table instead, a few ms
-- for tens of thousands of vessels (one row per MMSI, not per report).
CREATE INDEX IF NOT EXISTS vessels_imo ON vessels (imo) WHERE imo IS NOT NULL;
CREATE INDEX IF NOT EXISTS vessels_callsign ON vessels (callsign) WHERE callsign IS NOT NULL;

-- Every change of name, call sign, IMO or ship type, with the values before and after.
-- The first identity learnt for a vessel is recorded too (previous values all null).
CREATE TABLE IF NOT EXISTS vessel_identity_history (
    mmsi                integer NOT NULL,
    changed_at          timestamptz NOT NULL,     -- event time of the report that changed it
    name                text,
    callsign            text,
    imo                 integer,
    ship_type           smallint,
    previous_name       text,
    previous_callsign   text,
    previous_imo        integer,
    previous_ship_type  smallint,
    changed_fields      text[] NOT NULL,
    source              text NOT NULL
);
-- One row per vessel, instant and resulting identity: replaying a report adds nothing,
-- while type 24 parts A and B received in the same second are both kept.
CREATE UNIQUE INDEX IF NOT EXISTS vessel_identity_history_key
    ON vessel_identity_history (mmsi, changed_at, name, callsign, imo, ship_type)
    NULLS NOT DISTINCT;
