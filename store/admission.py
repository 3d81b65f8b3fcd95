"""Which events of a batch may be stored at all, before any is written: partitions on
demand stay bounded (issue 12, point 8).

Positions and alerts are stored in daily partitions made on demand. An event dated more
than ``sink_max_future_s`` ahead of the database's clock (a receiver with a broken clock),
or older than the retention window (its day would be dropped again at the next
maintenance), and the events of days beyond the ``sink_max_new_partitions`` one batch may
create, are refused with a reason: the sink sends them to the dead-letter topic.
"""

from __future__ import annotations

from datetime import timedelta

from store.db import Conn
from store.decode import DecodedBatch
from store.settings import StoreSettings
from store.timeseries import (
    ALERTS,
    POSITIONS,
    PartitionBounds,
    PartitionKeeper,
    TimeSeriesBackend,
    database_clock,
    day_of,
)
from store.write_events import alert_days
from store.write_positions import position_days


async def admit(
    conn: Conn, batch: DecodedBatch, keeper: PartitionKeeper, settings: StoreSettings
) -> None:
    """Move the events that must not be stored from ``batch`` to ``batch.refused``."""
    bounds = PartitionBounds(
        clock=await database_clock(conn),
        max_ahead=timedelta(seconds=settings.sink_max_future_s),
        retention_days=settings.retention_days,
        max_new_partitions=settings.sink_max_new_partitions,
    )
    # A refusal depends on the time alone and only past either end of a window, so a
    # batch whose earliest and latest times both pass has nothing to refuse: one check
    # per batch instead of one per record (issue 13).
    if batch.positions:
        times = [row[0] for row in batch.positions]
        if bounds.refusal(min(times)) or bounds.refusal(max(times)):
            batch.refuse_positions(lambda row: bounds.refusal(row[0]))
    batch.refuse_alerts(lambda alert: bounds.refusal(alert.started_at))
    if keeper.backend is not TimeSeriesBackend.NATIVE:
        return  # TimescaleDB makes its chunks itself; the time bounds above still hold
    known_positions = await keeper.known_days(conn, POSITIONS)
    known_alerts = await keeper.known_days(conn, ALERTS)
    new_days = {
        *((POSITIONS.name, day) for day in position_days(batch.positions) - known_positions),
        *((ALERTS.name, day) for day in alert_days(batch.alerts) - known_alerts),
    }
    over = bounds.beyond_cap(new_days)
    if over:
        batch.refuse_positions(lambda row: over.get((POSITIONS.name, day_of(row[0]))))
        batch.refuse_alerts(lambda alert: over.get((ALERTS.name, day_of(alert.started_at))))
