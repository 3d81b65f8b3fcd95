"""Fusion's co-keyed inputs applied in event-time order, whatever the fetches returned.

Partition p of ``ais.positions``, ``ais.static``, ``ais.safety`` and ``patrol.reports`` is
one shard. What a fetch returns from each of them is an accident of timing (how the
broker's answers interleave, where a micro-batch ended), so applying a batch as it came
made the output depend on it: a static report (a vessel's name, its ship type) was applied
before or after a given position depending on the run. This module removes that accident
the way Kafka Streams does for a task's co-partitioned inputs:

* per shard, a queue per input partition of what was fetched, in offset order;
* the next record applied is the head with the smallest event time (KIP-353), ties broken
  by topic rank (static before position before safety message before report), so the
  order is a function of the data alone;
* when an input partition's queue is empty and the consumer knows the broker holds more
  of it (its lag, ``Subscription.partition_lags``), the shard waits until that arrives
  instead of running ahead; an empty partition with no lag holds nothing up, so a quiet
  static topic never delays alerts (KIP-695, ``max.task.idle.ms`` = 0). A lag not known
  yet (no fetch answer) is waited for too.

The limit, as in Kafka Streams: a record that reaches the broker after later-timed records
of another input were applied (a static from a second station whose clock is behind) is
applied when it comes, not in its place.

``ais.safety`` and ``patrol.reports`` take part in the same order rather than trailing a
batch's positions: a distress text is placed at its sender's last position, and a sighting
is sent to the cell stage among this shard's positions, so where a batch happened to end
would otherwise decide which position a SART's text finds and where a sighting falls
among the positions. A report is ordered by its ``ce_time`` (when the vessel was seen):
one that comes late is applied when it comes, like a late static.

Records with an event time that cannot be read sort first: the processor refuses them
with a reason, and they hold nothing up.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable, Mapping
from datetime import datetime

from bus.base import Record, TopicPartition

_UNREADABLE = float("-inf")


def event_time_of(record: Record) -> float:
    """The record's ``ce_time`` as POSIX seconds (the event time every producer writes)."""
    for name, value in record.headers:
        if name == "ce_time":
            try:
                return datetime.fromisoformat(value.decode()).timestamp()
            except (ValueError, UnicodeDecodeError):
                return _UNREADABLE
    return _UNREADABLE


class EventTimeAligner:
    """Buffers fetched records per input partition and releases them per shard in
    event-time order (see the module's docstring). ``ranks`` maps each input topic to its
    tie-break rank, lowest first."""

    def __init__(self, ranks: Mapping[str, int]) -> None:
        self._ranks = dict(ranks)
        self._queues: dict[int, dict[TopicPartition, deque[Record]]] = {}
        self._next: dict[TopicPartition, int] = {}
        """Next offset expected per partition: a record below it was redelivered after a
        seek and is already queued or applied."""
        self.held = 0
        """Records buffered and not yet released."""
        self.ready = False
        """The last ``take`` stopped at its limit: more can be released without a fetch."""

    def add(self, records: Iterable[Record]) -> None:
        for record in records:
            tp = (record.topic, record.partition)
            expected = self._next.get(tp)
            if expected is not None and record.offset < expected:
                continue
            self._next[tp] = record.offset + 1
            shard = self._queues.get(record.partition)
            if shard is None:
                shard = self._queues[record.partition] = {}
            queue = shard.get(tp)
            if queue is None:
                queue = shard[tp] = deque()
            queue.append(record)
            self.held += 1

    def restart(self, tp: TopicPartition, offset: int) -> None:
        """The consumer was moved to ``offset`` of ``tp`` (a checkpoint's): forget what was
        queued of it; it is delivered again from there."""
        queue = self._queues.get(tp[1], {}).pop(tp, None)
        if queue:
            self.held -= len(queue)
        self._next[tp] = offset

    def drop(self, shards: Iterable[int]) -> None:
        """Forget the shards given up (their next owner reads from the checkpoint)."""
        gone = set(shards)
        for shard in gone:
            for queue in self._queues.pop(shard, {}).values():
                self.held -= len(queue)
        for tp in [tp for tp in self._next if tp[1] in gone]:
            del self._next[tp]

    def queued(self, tp: TopicPartition) -> int:
        queue = self._queues.get(tp[1], {}).get(tp)
        return 0 if queue is None else len(queue)

    def take(self, lags: Mapping[TopicPartition, int | None], limit: int) -> list[Record]:
        """Up to ``limit`` records that can be applied now, shard by shard, each shard's in
        event-time order. ``lags`` are the consumer's (``Subscription.partition_lags``):
        an input partition missing from it is not this member's and holds nothing up."""
        out: list[Record] = []
        inputs: dict[int, list[TopicPartition]] = {}
        for tp in lags:
            if tp[0] in self._ranks:
                inputs.setdefault(tp[1], []).append(tp)
        self.ready = False
        for shard in sorted(self._queues):
            if len(out) >= limit:
                self.ready = True
                break
            self._release(self._queues[shard], inputs.get(shard, []), lags, out, limit)
        self.held -= len(out)
        return out

    def _release(
        self,
        queues: dict[TopicPartition, deque[Record]],
        inputs: list[TopicPartition],
        lags: Mapping[TopicPartition, int | None],
        out: list[Record],
        limit: int,
    ) -> None:
        if any(not queues.get(tp) and lags[tp] != 0 for tp in inputs):
            return  # an input with lag has nothing buffered: wait for its fetch
        filled = [tp for tp, queue in queues.items() if queue]
        if len(filled) == 1:  # one input has records, the others none and no lag
            queue = queues[filled[0]]
            room = limit - len(out)
            if len(queue) <= room:
                out.extend(queue)
                queue.clear()
            else:
                out.extend(queue.popleft() for _ in range(room))
                self.ready = True
            return
        heads: list[tuple[float, int, TopicPartition]] = [
            (event_time_of(queues[tp][0]), self._ranks.get(tp[0], 0), tp) for tp in filled
        ]
        heapq.heapify(heads)
        while heads:
            if len(out) >= limit:
                self.ready = True
                return
            _, rank, tp = heads[0]
            queue = queues[tp]
            out.append(queue.popleft())
            if queue:
                heapq.heapreplace(heads, (event_time_of(queue[0]), rank, tp))
                continue
            heapq.heappop(heads)
            if lags.get(tp, 0) != 0:
                return  # this input ran dry but the broker holds more of it
