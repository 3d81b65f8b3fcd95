-- Area-and-time questions through H3 cells (store/cells.py, store/area.py).
--
-- positions.h3_cell is the position's H3 cell at resolution 6 (about 36 km²), written by
-- the sink with each row: PostgreSQL here has no H3 extension, so the h3 package computes
-- it in the sink, one call per position. (h3_cell, time) lets a polygon read only the
-- positions of the cells it covers, in the window.
ALTER TABLE positions ADD COLUMN IF NOT EXISTS h3_cell bigint;
CREATE INDEX IF NOT EXISTS positions_h3_time ON positions (h3_cell, time);

-- Rows stored before this migration have no cell: the area question reads them by time
-- (and tests each with shapely). Nothing written from now on lands in this index, so it
-- costs the sink nothing and stays empty once those days have aged out.
CREATE INDEX IF NOT EXISTS positions_uncelled_time ON positions (time) WHERE h3_cell IS NULL;

-- The 0.25-degree grid cell of migration 008 is replaced: one less stored generated
-- column and index for every position the sink writes.
DROP INDEX IF EXISTS positions_cell_time;
ALTER TABLE positions DROP COLUMN IF EXISTS cell;
