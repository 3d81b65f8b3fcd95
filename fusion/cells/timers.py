"""When each grid cell of a cell partition next has something to expire, so that the cell
stage visits only those cells when its watermark moves instead of every cell it knows.

A cell's state expires piece by piece: a rendezvous candidate ``rendezvous_max_fix_age_s``
after its fix, a pair that long after they were last seen together, a dark-target history
entry ``dark_target_history_s`` after it was made, an open sighting
``dark_target_window_s`` after it. ``CellTimers`` keeps, per cell, the earliest of those
(``due``) in a heap; a new piece that comes due sooner is pushed, a heap entry made stale
by a later push is skipped. Visiting a cell runs the detectors' own expiry rules, which
decide exactly what goes; a visit too early only costs time, so the heap may err early,
never late.

Besides, the cells where something was taken away outside a visit (a vessel no longer
slow, a sighting matched) may be empty, and an empty cell is dropped at the next watermark
(``touched``); cells are visited in the order they were created, so that alert events come
out in the order a visit of every cell would give them.

None of this is checkpointed: it is rebuilt from the partition's state (``of``).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable

from fusion.cells.state import CellShardState, CellState
from fusion.cells.wire import CellFix
from fusion.settings import FusionSettings

EARLY_S = 1.0
"""Cells due up to this long after the watermark are visited too (the expiry rules compare
``t < mark - horizon``; a second's slack makes rounding in ``t + horizon`` harmless)."""


class CellTimers:
    def __init__(self, settings: FusionSettings, state: CellShardState) -> None:
        self.state = state
        self.fix_age_s = settings.rendezvous_max_fix_age_s
        self.history_s = settings.dark_target_history_s
        self.window_s = settings.dark_target_window_s
        self.due: dict[str, float] = {}
        self.heap: list[tuple[float, str]] = []
        self.seq: dict[str, int] = {}
        """Creation order of the cells (the order of ``state.cells``)."""
        self.touched: set[str] = set()
        self.waiting: dict[int, dict[str, int]] = {}
        """MMSI -> cell -> its positions that could be part of a rendezvous waiting for the
        watermark (the vessel may join the cell's slow set before a later fix of it)."""
        self._next = 0

    @classmethod
    def of(
        cls, settings: FusionSettings, state: CellShardState, eligible: Callable[[CellFix], bool]
    ) -> CellTimers:
        """The timers of a partition's state as restored (``eligible``: the rendezvous
        rule's ``eligible``)."""
        timers = cls(settings, state)
        for name, here in state.cells.items():
            timers.seq[name] = timers._next
            timers._next += 1
            due = timers.earliest(here)
            if due < math.inf:
                timers.schedule(name, due)
            if here.empty():
                timers.touched.add(name)
        for fix in state.pending:
            if eligible(fix):
                cells = timers.waiting.setdefault(fix.mmsi, {})
                cells[fix.cell] = cells.get(fix.cell, 0) + 1
        return timers

    def cell(self, name: str) -> CellState:
        """The cell's state, created (and numbered) when it is new."""
        cells = self.state.cells
        here = cells.get(name)
        if here is None:
            here = cells[name] = CellState()
            self.seq[name] = self._next
            self._next += 1
        return here

    def schedule(self, name: str, due: float) -> None:
        """Something in the cell expires from ``due`` on (pushed only when sooner)."""
        if due < self.due.get(name, math.inf):
            self.due[name] = due
            heapq.heappush(self.heap, (due, name))

    def earliest(self, here: CellState) -> float:
        """When the first piece of the cell expires (inf: nothing that does)."""
        due = math.inf
        for kept in here.recent.values():
            due = min(due, kept[0][0] + self.history_s)
        for fix in here.slow.values():
            due = min(due, fix.t + self.fix_age_s)
        for pair in here.pairs.values():
            due = min(due, pair.last_t + self.fix_age_s)
        for sighting in here.sightings.values():
            due = min(due, sighting.t + self.window_s)
        return due

    def to_visit(self, mark: float) -> list[str]:
        """The cells to visit at watermark ``mark``, in creation order."""
        found = self.touched
        self.touched = set()
        heap, due = self.heap, self.due
        while heap and heap[0][0] <= mark + EARLY_S:
            at, name = heapq.heappop(heap)
            if due.get(name) == at:
                del due[name]
                found.add(name)
        seq = self.seq
        return sorted((n for n in found if n in self.state.cells), key=seq.__getitem__)

    def visited(self, name: str, here: CellState) -> None:
        """After a visit: an empty cell is dropped, the others rescheduled."""
        if here.empty():
            del self.state.cells[name]
            self.due.pop(name, None)
            del self.seq[name]
            return
        self.due.pop(name, None)
        due = self.earliest(here)
        if due < math.inf:
            self.schedule(name, due)
