-- AIS safety-related messages (types 12 and 14) from ais.safety: rare (a few a day in a
-- region) but what a rescue depends on, so a plain table, kept as long as the database.
-- The natural key makes the sink idempotent: the same message re-read is not stored twice.
CREATE TABLE IF NOT EXISTS ais_safety_messages (
    mmsi                integer NOT NULL,
    event_time          timestamptz NOT NULL,
    msg_type            smallint NOT NULL CHECK (msg_type IN (12, 14)),
    text                text NOT NULL,
    dest_mmsi           integer,                  -- the addressee of a type 12
    kind                text NOT NULL CHECK (kind IN
                            ('sart_active', 'mob', 'mayday', 'sart_test', 'mob_test', 'other')),
    station             text,
    source              text NOT NULL,
    mmsi_kind           text NOT NULL,            -- sart / mob / epirb / ship ... (ITU-R M.585)
    PRIMARY KEY (mmsi, event_time, msg_type, text)
);
CREATE INDEX IF NOT EXISTS ais_safety_messages_time ON ais_safety_messages (event_time);
CREATE INDEX IF NOT EXISTS ais_safety_messages_distress ON ais_safety_messages (event_time)
    WHERE kind IN ('sart_active', 'mob', 'mayday');
