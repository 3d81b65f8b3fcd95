"""Type 24 identities made whole before they are published.

A class B transponder sends its identity in two messages: part A (the name) and part B
(call sign, ship type, dimensions). ``ais.static`` is compacted by MMSI, so if each part
travelled alone, compaction would keep only the later part and a reader of the table
could see a vessel without its name. So ingest remembers the latest part A and part B of
each MMSI (a bounded LRU) and every type 24 report it publishes carries the other part's
fields too: the last value under a key is always the whole identity known.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Final

import msgspec

from schemas.ais import StaticReport

PART_A_FIELDS: Final = ("name",)
PART_B_FIELDS: Final = (
    "callsign",
    "ship_type",
    "to_bow_m",
    "to_stern_m",
    "to_port_m",
    "to_starboard_m",
)


class Type24Identities:
    """The latest part A and part B fields per MMSI, for at most ``max_vessels`` MMSIs
    (the least recently heard is forgotten first; its next parts start afresh)."""

    def __init__(self, max_vessels: int = 100_000) -> None:
        self.max_vessels = max_vessels
        self._parts: OrderedDict[int, dict[str, dict[str, Any]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._parts)

    def merged(self, report: StaticReport) -> StaticReport:
        """``report`` (type 24, part A or B) with the other part's remembered fields added;
        the report's own fields are remembered for the MMSI's next part."""
        if report.msg_type != 24 or report.part is None:
            return report
        own, other = (
            (PART_A_FIELDS, PART_B_FIELDS) if report.part == "A" else (PART_B_FIELDS, PART_A_FIELDS)
        )
        parts = self._parts.get(report.mmsi)
        if parts is None:
            parts = self._parts[report.mmsi] = {}
            if len(self._parts) > self.max_vessels:
                self._parts.popitem(last=False)
        else:
            self._parts.move_to_end(report.mmsi)
        parts[report.part] = {name: getattr(report, name) for name in own}
        known = parts.get("B" if report.part == "A" else "A")
        if not known:
            return report
        update = {name: known[name] for name in other if known.get(name) is not None}
        return msgspec.structs.replace(report, **update) if update else report
