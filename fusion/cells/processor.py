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

from collections.abc import Sequence

from bus.base import Record
from fusion.cells.state import CellShardState
from fusion.cells.wire import (
    CellBatch,
    CellFix,
    CellMark,
    CellSighting,
    CellWireError,
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

    def process(self, records: Sequence[Record]) -> BatchResult:
        """Apply one micro-batch; every record's partition must be owned (state loaded)."""
        result = BatchResult()
        by_shard: dict[int, list[Record]] = {}
        for record in records:
            by_shard.setdefault(record.partition, []).append(record)
            RECORDS.labels(record.topic).inc()
        for shard in sorted(by_shard):
            state = self.states[shard]
            for record in self._fresh(state, by_shard[shard]):
                try:
                    item = read_cell(record)
                except CellWireError as exc:
                    refuse(result.refused, record, str(exc))
                    continue
                if isinstance(item, CellBatch):
                    self._batch(state, item)
                elif isinstance(item, CellSighting):
                    self.dark_target.on_sighting(state, state.cell(item.cell), item)
                elif isinstance(item, CellMark):
                    self._marked(state, item)
                else:
                    self._arrived(state, item)
            self._release(state)
        result.outgoing.extend(self.engine.take())
        return result

    def _fresh(self, state: CellShardState, records: list[Record]) -> list[Record]:
        done = state.offsets.get(records[0].topic, 0)
        fresh = [r for r in records if r.offset >= done]
        if fresh:
            state.offsets[records[0].topic] = max(r.offset for r in fresh) + 1
        return fresh

    def _batch(self, state: CellShardState, batch: CellBatch) -> None:
        """A version-2 message: its cell fixes with its sightings among them, then marks."""
        fixes = batch.fixes()
        done = 0
        for after, sighting in zip(batch.after, batch.sightings, strict=True):
            for fix in fixes[done:after]:
                self._arrived(state, fix)
            done = after
            self.dark_target.on_sighting(state, state.cell(sighting.cell), sighting)
        for fix in fixes[done:]:
            self._arrived(state, fix)
        for mark in batch.marks:
            self._marked(state, mark)

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

    def _arrived(self, state: CellShardState, fix: CellFix) -> None:
        self.dark_target.on_arrival(state, state.cell(fix.cell), fix)
        if state.mark_t is not None and fix.t < state.mark_t:
            state.late += 1
            CELL_LATE.inc()
            return
        state.pending.append(fix)

    def _release(self, state: CellShardState) -> None:
        """Positions the watermark has passed, in event-time order, to the rendezvous
        rule; then each cell's timers."""
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
        for fix in ready:
            if fix == previous:
                continue  # republished after an upstream restart
            previous = fix
            self.rendezvous.on_fix(state, fix.cell, state.cell(fix.cell), fix)
        for name in list(state.cells):
            here = state.cells[name]
            self.rendezvous.on_watermark(state, here, mark)
            self.dark_target.on_watermark(state, here, mark)
            if here.empty():
                del state.cells[name]
        WATERMARK.labels(f"cells-{state.shard}").set(mark)
