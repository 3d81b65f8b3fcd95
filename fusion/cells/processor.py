"""The cell stage without the bus: records of ``fusion.cells`` in, alert events out.

Per partition of ``fusion.cells`` there is one ``CellShardState``. A position is matched
against the cell's open sightings as it arrives (dark target) and waits in the partition's
buffer until the watermark passes it; then the buffered positions go to the rendezvous
rule in event-time order (ties by MMSI), so the outcome does not depend on how the
per-MMSI partitions' batches interleaved on the way. A sighting is judged the moment it
arrives.

The watermark comes from the per-MMSI stage's marks (``CellMark``): each of its partitions
promises, after every batch, that nothing older than its own watermark will follow; the
cell stage's watermark is the lowest promise of the partitions (idle ones included: an
idle partition's promise still holds). No wall clock.

Records below a partition's checkpointed offset are already reflected in its state
(redelivered after a restart) and are skipped; a position republished by the per-MMSI
stage after its own restart is behind the watermark (counted as late), or an exact twin
of one still waiting, and is applied once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from bus.base import Record
from fusion.cells.state import CellShardState, CellState
from fusion.cells.timers import CellTimers
from fusion.cells.wire import (
    CellBatch,
    CellFix,
    CellMark,
    CellSighting,
    CellWireError,
    batch_of,
    read_cell,
)
from fusion.detectors.dark_target import DarkTargetDetector
from fusion.detectors.rendezvous import RendezvousDetector
from fusion.engine import AlertEngine
from fusion.metrics import CELL_LATE, RECORDS, WATERMARK
from fusion.processor import BatchResult
from fusion.refusals import refuse
from fusion.settings import FusionSettings
from schemas.topics import Topic


class CellFusion:
    """The pair detectors over the ``fusion.cells`` partitions this instance owns."""

    def __init__(
        self, settings: FusionSettings, *, alerts_topic: str = Topic.FUSION_ALERTS.value
    ) -> None:
        self.settings = settings
        self.engine = AlertEngine(settings.update_cooldown_s, alerts_topic)
        self.rendezvous = RendezvousDetector(settings, self.engine)
        self.dark_target = DarkTargetDetector(settings, self.engine)
        self.states: dict[int, CellShardState] = {}
        self._timers: dict[int, CellTimers] = {}
        self.applied = 0
        """What the last ``process`` applied: cell fixes, sightings and marks (a message
        of version 2 carries many; the service checkpoints by these, not by messages)."""

    def timers(self, state: CellShardState) -> CellTimers:
        """The partition's timers, rebuilt when its state is new (assigned, restored)."""
        found = self._timers.get(state.shard)
        if found is None or found.state is not state:
            found = self._timers[state.shard] = CellTimers.of(
                self.settings, state, self.rendezvous.eligible
            )
        return found

    def process(self, records: Sequence[Record]) -> BatchResult:
        """Apply one micro-batch; every record's partition must be owned (state loaded)."""
        result = BatchResult()
        self.applied = 0
        by_shard: dict[int, list[Record]] = {}
        for record in records:
            found = by_shard.get(record.partition)
            if found is None:
                found = by_shard[record.partition] = []
            found.append(record)
        for shard in sorted(by_shard):
            state = self.states[shard]
            timers = self.timers(state)
            mine = by_shard[shard]
            RECORDS.labels(mine[0].topic).inc(len(mine))
            for record in self._fresh(state, mine):
                try:
                    item = read_cell(record)
                except CellWireError as exc:
                    refuse(result.refused, record, str(exc))
                    continue
                if isinstance(item, CellBatch):
                    self._batch(state, timers, item)
                    self.applied += len(item.row) + len(item.sightings) + len(item.marks)
                    continue
                self.applied += 1
                if isinstance(item, CellSighting):
                    self._sighting(state, timers, item)
                elif isinstance(item, CellMark):
                    self._marked(state, item)
                else:
                    self._batch(state, timers, batch_of([item]))
            self._release(state, timers)
        result.outgoing.extend(self.engine.take())
        return result

    def _fresh(self, state: CellShardState, records: list[Record]) -> list[Record]:
        done = state.offsets.get(records[0].topic, 0)
        fresh = [r for r in records if r.offset >= done]
        if fresh:
            state.offsets[records[0].topic] = max(r.offset for r in fresh) + 1
        return fresh

    def _batch(self, state: CellShardState, timers: CellTimers, batch: CellBatch) -> None:
        """A version-2 message: its cell fixes with its sightings among them, then marks."""
        done = 0
        maybe = self._eligible(batch)
        for after, sighting in zip(batch.after, batch.sightings, strict=True):
            self._arrived(state, timers, batch, maybe, done, after)
            done = after
            self._sighting(state, timers, sighting)
        self._arrived(state, timers, batch, maybe, done, len(batch.row))
        for mark in batch.marks:
            self._marked(state, mark)

    def _sighting(self, state: CellShardState, timers: CellTimers, sighting: CellSighting) -> None:
        self.dark_target.on_sighting(state, timers.cell(sighting.cell), sighting)
        timers.touched.add(sighting.cell)
        timers.schedule(sighting.cell, sighting.t + timers.window_s)

    def _arrived(
        self,
        state: CellShardState,
        timers: CellTimers,
        batch: CellBatch,
        maybe: list[bool],
        start: int,
        end: int,
    ) -> None:
        """Cell fixes ``start:end`` of ``batch`` as they arrive: into each cell's history
        for the dark-target rule (and matched against its open sightings), then, unless
        behind the watermark, waiting for it, if the rendezvous rule can use them: a fix
        that is slow enough (``RendezvousDetector.eligible``), or any fix of a vessel the
        cell follows (it may end a pair). The others would change nothing there."""
        if start >= end:
            return
        names = batch.cells
        mmsis, times, lats, lons = batch.mmsi, batch.t, batch.lat, batch.lon
        heres: list[CellState | None] = [None] * len(names)
        keep = self.dark_target.keep
        eligible = self.rendezvous.eligible
        history_s = timers.history_s
        due = timers.due
        mark_t = -math.inf if state.mark_t is None else state.mark_t
        waiting = timers.waiting
        pending = state.pending
        late = 0
        for r, c in zip(batch.row[start:end], batch.cell[start:end], strict=True):
            here = heres[c]
            if here is None:
                here = heres[c] = timers.cell(names[c])
            mmsi, t = mmsis[r], times[r]
            if here.sightings:
                began = self.dark_target.on_arrival(state, here, _fix(batch, r, names[c]))
                timers.touched.add(names[c])
            else:
                began = keep(here, mmsi, t, lats[r], lons[r])
            if began and t + history_s < due.get(names[c], math.inf):
                timers.schedule(names[c], t + history_s)
            if t < mark_t:
                late += 1
                continue
            if maybe[r]:
                fix = _fix(batch, r, names[c])
                if eligible(fix):
                    cells = waiting.get(mmsi)
                    if cells is None:
                        cells = waiting[mmsi] = {}
                    cells[fix.cell] = cells.get(fix.cell, 0) + 1
                    pending.append(fix)
                    continue
            if (
                (here.slow and mmsi in here.slow)
                or (here.pairs and any(mmsi in (p.a, p.b) for p in here.pairs.values()))
                or (mmsi in waiting and names[c] in waiting[mmsi])
            ):
                pending.append(_fix(batch, r, names[c]))
        if late:
            state.late += late
            CELL_LATE.inc(late)

    def _eligible(self, batch: CellBatch) -> list[bool]:
        """Per position, whether it is slow enough for the rendezvous rule (a cheap first
        look on the whole message; ``RendezvousDetector.eligible`` decides)."""
        speed = np.array(batch.speed_kn, dtype=np.float64)  # None: NaN, never slow
        return (speed < self.settings.rendezvous_max_speed_kn).tolist()  # type: ignore[no-any-return]

    @staticmethod
    def _marked(state: CellShardState, mark: CellMark) -> None:
        known = state.sources.get(mark.source)
        if known is not None and known.mark is not None:
            # A restarted upstream partition repeats older marks (or none, before its
            # checkpoint is loaded): promises only grow.
            higher = known.mark if mark.mark is None else max(known.mark, mark.mark)
            mark = CellMark(mark.source, mark.sources, higher, mark.idle)
        state.sources[mark.source] = mark

    @staticmethod
    def _watermark(state: CellShardState) -> float | None:
        """The lowest mark of the upstream partitions that have one, idle or not; None
        until every partition has been heard. An idle partition's mark still holds (it is
        its watermark: nothing older will come from it), so it counts: taking the highest
        mark when all were idle, or the lowest of the busy ones, let a partition that had
        only looked idle (caught up to a high-water mark its consumer had not yet seen
        move) send positions behind the cell watermark, which were then late and left
        out of the rendezvous rule, so a paced replay lost a rendezvous that a backlog
        raised. A partition with no position yet (mark None, idle or not) holds it back
        too: its first positions may be as old as any (a paced replay starts with every
        partition idle and empty, and one fetch may bring one partition's records only)."""
        marks = list(state.sources.values())
        if not marks or len(marks) < max(m.sources for m in marks):
            return None
        if any(m.mark is None for m in marks):
            return state.mark_t  # a partition with no position yet promises nothing
        found = min(m.mark for m in marks if m.mark is not None)
        if found is None or (state.mark_t is not None and found <= state.mark_t):
            return state.mark_t
        return found

    def _release(self, state: CellShardState, timers: CellTimers) -> None:
        """Positions the watermark has passed, in event-time order, to the rendezvous
        rule; then the timers of the cells that have something due (``CellTimers``)."""
        mark = self._watermark(state)
        if mark is None or mark == state.mark_t:
            return
        state.mark_t = mark
        state.pending.sort(key=lambda f: (f.t, f.mmsi, f.cell))
        cut = 0
        while cut < len(state.pending) and state.pending[cut].t < mark:
            cut += 1
        ready, state.pending = state.pending[:cut], state.pending[cut:]
        previous: CellFix | None = None
        waiting = timers.waiting
        fix_age_s = timers.fix_age_s
        for fix in ready:
            slow = self.rendezvous.eligible(fix)
            if slow:
                cells = waiting[fix.mmsi]
                left = cells[fix.cell] - 1
                if left:
                    cells[fix.cell] = left
                else:
                    del cells[fix.cell]
                    if not cells:
                        del waiting[fix.mmsi]
            if fix == previous:
                continue  # republished after an upstream restart
            previous = fix
            self.rendezvous.on_fix(state, fix.cell, timers.cell(fix.cell), fix)
            if slow:  # it joins the cell's slow set: the cell is not empty
                timers.schedule(fix.cell, fix.t + fix_age_s)
            else:  # the vessel left the slow set and its pairs: the cell may be empty
                timers.touched.add(fix.cell)
        for name in timers.to_visit(mark):
            here = state.cells[name]
            self.rendezvous.on_watermark(state, here, mark)
            self.dark_target.on_watermark(state, here, mark)
            timers.visited(name, here)
        WATERMARK.labels(f"cells-{state.shard}").set(mark)


def _fix(batch: CellBatch, r: int, cell: str) -> CellFix:
    return CellFix(
        cell,
        batch.mmsi[r],
        batch.t[r],
        batch.lat[r],
        batch.lon[r],
        batch.speed_kn[r],
        batch.shore_nm[r],
        batch.in_port[r],
        batch.ship_type[r],
        batch.watchlisted[r],
        batch.rendezvous_m[r],
        batch.rendezvous_s[r],
        batch.name[r],
    )
