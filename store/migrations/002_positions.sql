-- Every stored AIS position: a time series (hypertable or daily range partitions, see
-- store/timeseries.py, which renders the markers below).
--
-- Reports without a position (lat/lon not available) are not stored here: a track point
-- without a position is not a point; the sink counts them as skipped.
CREATE TABLE IF NOT EXISTS positions (
    time                    timestamptz NOT NULL,   -- event time (reception at the antenna)
    mmsi                    integer NOT NULL,
    lat                     double precision NOT NULL,
    lon                     double precision NOT NULL,
    msg_type                smallint NOT NULL,
    speed_kn                real,
    course_deg              real,
    heading_deg             smallint,
    nav_status              smallint,
    turn_rate_deg_min       real,
    position_accuracy_high  boolean,
    altitude_m              smallint,
    station                 text,
    source                  text NOT NULL,
    mmsi_valid              boolean NOT NULL
) /*@time_partitioned*/;

-- The natural key makes the sink idempotent (ON CONFLICT DO NOTHING). Its b-tree leads
-- with (mmsi, time), so it also serves a vessel's track; a unique index on a partitioned
-- table must contain the partition key, which (time) is.
CREATE UNIQUE INDEX IF NOT EXISTS positions_natural_key ON positions (mmsi, time, lat, lon);
-- Area-and-time questions scan by time: BRIN is tiny and fits append-mostly time order.
CREATE INDEX IF NOT EXISTS positions_time_brin ON positions USING brin (time);

-- @time_series positions
