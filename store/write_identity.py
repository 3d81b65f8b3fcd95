"""Static reports into ``vessels`` (identity) and ``vessel_identity_history`` (changes).

A static report carries only some fields (type 24 part A: the name; part B: call sign,
type, dimensions), so a missing field means "not said", never "cleared". Reports are
applied in event-time order per vessel. One older than the identity already stored only
fills fields still empty (type 24's part B a moment older than part A, arriving after it):
it never overwrites a value said later. Filling an empty field is not a change: history
records a value replacing a different one. So a vessel's row and history do not depend on
how its reports were cut into batches (a restarted sink re-reads with other boundaries).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from schemas.ais import StaticReport
from store.db import Conn

TRACKED_FIELDS = ("name", "callsign", "imo", "ship_type")
"""Identity fields whose every change is recorded (a changed name or call sign is one of
the spoofing signals fusion looks for; the history lets an analyst see it)."""
_OTHER_FIELDS = (
    "to_bow_m",
    "to_stern_m",
    "to_port_m",
    "to_starboard_m",
    "draught_m",
    "destination",
    "eta",
)
_ALL_FIELDS = TRACKED_FIELDS + _OTHER_FIELDS


@dataclass(frozen=True)
class Identity:
    values: dict[str, Any] = field(default_factory=dict)
    identity_time: datetime | None = None

    def merged(self, report: StaticReport) -> Identity:
        values = dict(self.values)
        for name in _ALL_FIELDS:
            value = getattr(report, name)
            if value is not None:
                values[name] = value
        return replace(self, values=values, identity_time=report.event_time)

    def filled(self, report: StaticReport) -> Identity:
        """An older report: only the fields not known yet; the identity time stays."""
        values = dict(self.values)
        for name in _ALL_FIELDS:
            value = getattr(report, name)
            if value is not None and values.get(name) is None:
                values[name] = value
        return replace(self, values=values)


_SELECT = f"""
SELECT mmsi, identity_time, {", ".join(_ALL_FIELDS)} FROM vessels
WHERE mmsi = ANY(%s) ORDER BY mmsi FOR UPDATE
""".encode()

_ENSURE_VESSELS = b"""
INSERT INTO vessels (mmsi, mmsi_valid, mmsi_kind, flag_country)
SELECT * FROM unnest(%s::integer[], %s::boolean[], %s::text[], %s::text[])
ON CONFLICT (mmsi) DO NOTHING
"""

_UPDATE = f"""
UPDATE vessels SET identity_time = %s, {", ".join(f"{n} = %s" for n in _ALL_FIELDS)}
WHERE mmsi = %s
""".encode()

_HISTORY = b"""
INSERT INTO vessel_identity_history
    (mmsi, changed_at, name, callsign, imo, ship_type, previous_name, previous_callsign,
     previous_imo, previous_ship_type, changed_fields, source)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT DO NOTHING
"""


def _order(report: StaticReport) -> tuple[int, datetime, int, str]:
    return (report.mmsi, report.event_time, report.msg_type, report.part or "")


async def write_static_reports(conn: Conn, reports: Sequence[StaticReport]) -> tuple[int, int]:
    """Inside the caller's transaction; returns (vessels updated, identity changes)."""
    if not reports:
        return 0, 0
    ordered = sorted(reports, key=_order)
    firsts = {r.mmsi: r for r in reversed(ordered)}
    mmsis = sorted(firsts)
    await conn.execute(
        _ENSURE_VESSELS,
        (
            mmsis,
            [firsts[m].mmsi_info.valid for m in mmsis],
            [firsts[m].mmsi_info.kind.value for m in mmsis],
            [firsts[m].mmsi_info.country for m in mmsis],
        ),
    )
    cur = await conn.execute(_SELECT, (mmsis,))
    state: dict[int, Identity] = {
        row[0]: Identity(dict(zip(_ALL_FIELDS, row[2:], strict=True)), row[1])
        for row in await cur.fetchall()
    }
    before = dict(state)
    history: list[tuple[Any, ...]] = []
    for report in ordered:
        current = state[report.mmsi]
        # ">=": a report at the very instant already applied is merged again (a no-op for
        # the same report, the missing half for type 24's other part).
        if current.identity_time is not None and report.event_time < current.identity_time:
            state[report.mmsi] = current.filled(report)  # fills only: never a change
            continue
        updated = current.merged(report)
        changed = [
            n
            for n in TRACKED_FIELDS
            if current.values.get(n) is not None and updated.values.get(n) != current.values.get(n)
        ]
        if changed:
            history.append(
                (
                    report.mmsi,
                    report.event_time,
                    *(updated.values.get(n) for n in TRACKED_FIELDS),
                    *(current.values.get(n) for n in TRACKED_FIELDS),
                    changed,
                    report.source,
                )
            )
        state[report.mmsi] = updated
    updates = [
        (ident.identity_time, *(ident.values.get(n) for n in _ALL_FIELDS), mmsi)
        for mmsi, ident in state.items()
        if ident != before[mmsi]
    ]
    async with conn.cursor() as cursor:
        if updates:
            await cursor.executemany(_UPDATE, updates)
        if history:
            await cursor.executemany(_HISTORY, history)
    return len(updates), len(history)
