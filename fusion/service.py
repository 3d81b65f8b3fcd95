"""``lookout fusion``: the input topics in, alert events out, state checkpointed.

The loop: read the config tables (zones and watchlist apply live), take a micro-batch,
apply it (``fusion.processor``), publish the alert events and dead letters and wait until
they are durable, and every ``checkpoint_every_records`` save the touched partitions'
states (with the offsets they reflect) and only then commit those offsets. ``on_revoked``
checkpoints and commits before a partition moves; ``on_assigned`` loads its checkpoint.

A failed publish or checkpoint is not bad input: the same batch's events are retried with
backoff until they are durable (nothing skipped, nothing committed), and /healthz says
down meanwhile. Partition p of ``ais.positions`` and of ``ais.static`` must be assigned
to the same member (the bus's co-partitioned assignment): one state holds both.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence

import structlog
from pydantic import JsonValue

from bus.base import Bus, CommitError, Outgoing, Record, Subscription, TopicPartition
from bus.deadletter import dead_letter
from bus.table_reader import TableReader
from fusion.checkpoint import CheckpointStore
from fusion.metrics import BATCH_SECONDS, CHECKPOINTS, CONFIG_REFUSED, HELD
from fusion.ordering import EventTimeAligner
from fusion.ownership import Ownership, resume_at
from fusion.processor import Fusion, FusionTopics
from fusion.retrying import Retrier
from fusion.settings import FusionSettings
from fusion.tracks import ShardState, decode_state, encode_state
from schemas.config import Geofence, WatchlistEntry
from schemas.health import ComponentHealth
from schemas.topics import Topic

log = structlog.get_logger(__name__)


class FusionService:
    def __init__(
        self,
        bus: Bus,
        settings: FusionSettings,
        checkpoints: CheckpointStore,
        *,
        topics: FusionTopics | None = None,
        fusion: Fusion | None = None,
        after_publish: Callable[[Sequence[Record]], Awaitable[None]] | None = None,
    ) -> None:
        """``after_publish`` runs after a batch's events are durable, before any
        checkpoint (the restart tests kill the process there)."""
        self.bus = bus
        self.settings = settings
        self.checkpoints = checkpoints
        self.topics = topics or FusionTopics()
        self.fusion = fusion or Fusion(settings, topics=self.topics)
        self._after_publish = after_publish
        self._subscription: Subscription | None = None
        self._pending: dict[TopicPartition, Record] = {}
        # Input topics' tie-break ranks: a static report at the same event time as a
        # position is applied first (the position then carries the vessel's name).
        self.aligner = EventTimeAligner(
            {
                self.topics.static: 0,
                self.topics.positions: 1,
                self.topics.safety: 2,
                self.topics.reports: 3,
            }
        )
        self._paused: set[TopicPartition] = set()
        self._since_checkpoint = 0
        self._retrying = Retrier(settings, "fusion")
        self.batches = 0
        self._idle = False
        self._mid_batch = False
        self._ownership = Ownership()
        self.zone_reader = TableReader(bus, self.topics.geofences, Geofence)
        self.watchlist_reader = TableReader(bus, self.topics.watchlist, WatchlistEntry)
        self._config_refused: dict[str, int] = {}
        """Refusals of each config reader already counted in ``CONFIG_REFUSED``."""

    # --- partitions ---------------------------------------------------------------------

    def _shards(self, tps: frozenset[TopicPartition]) -> set[int]:
        return {p for topic, p in tps if topic in self.topics.shard_topics()}

    async def _load(self, shards: set[int]) -> None:
        """Take over the ``shards`` not owned yet, from their checkpoints."""
        for shard in sorted(shards - self._ownership.owned):
            raw = await self._retrying(
                "load checkpoint", self.checkpoints.load, self.settings.group, shard
            )
            state = decode_state(raw) if isinstance(raw, bytes) else ShardState(shard)
            self.fusion.states[shard] = state
            await resume_at(self._subscription, shard, state.offsets)
            for topic, offset in state.offsets.items():  # delivered again from there
                self.aligner.restart((topic, shard), offset)
            self._ownership.owned.add(shard)
            log.info(
                "partition assigned", shard=shard, offsets=state.offsets, restored=raw is not None
            )

    async def on_assigned(self, tps: frozenset[TopicPartition]) -> None:
        # Under the batch lock: the consumer may already hand out records of these
        # partitions while their checkpoints load (fusion.ownership).
        async with self._ownership.lock:
            self._ownership.rebalancing = False
            await self._load(self._shards(tps))

    async def on_revoked(self, tps: frozenset[TopicPartition]) -> None:
        # Kafka may call this from its coordinator while a batch is being published: wait
        # for the batch, so no state is saved ahead of its alerts.
        async with self._ownership.lock:
            await self._revoke(tps)

    async def _revoke(self, tps: frozenset[TopicPartition]) -> None:
        shards = self._shards(tps) & self.fusion.states.keys()
        if self._mid_batch:
            # Leaving after an error or a cancellation inside a batch: the state may hold
            # records whose alerts are not durable. It is dropped, not checkpointed; the
            # next owner resumes from the last checkpoint, as after a crash.
            log.warning(
                "partitions revoked mid-batch; state not checkpointed", shards=sorted(shards)
            )
        else:
            await self.checkpoint(shards)
        # From here on these shards are another member's (fusion.ownership).
        self._ownership.revoking(self._shards(tps))
        for shard in shards:
            self.fusion.states.pop(shard, None)
        self.aligner.drop(self._shards(tps))
        self._paused -= tps
        for tp in [tp for tp in self._pending if tp[1] in shards]:
            del self._pending[tp]
        log.info("partitions revoked", shards=sorted(shards))

    # --- the loop -----------------------------------------------------------------------

    async def run(self) -> None:
        await self.bus.ensure_topics(
            [
                *self.topics.shard_topics(),
                self.topics.alerts,
                self.topics.geofences,
                self.topics.watchlist,
                self.topics.cells,
                Topic.DEADLETTER,
            ]
        )
        self.fusion.cell_partitions = await self.bus.partition_count(self.topics.cells)
        self.fusion.source_partitions = await self.bus.partition_count(self.topics.positions)
        await self.zone_reader.start()
        await self.watchlist_reader.start()
        self._count_config_refusals()
        self.fusion.set_zones(self.zone_reader.rows.values())
        self.fusion.set_watchlist(self.watchlist_reader.rows.values())
        subscription = self.bus.subscribe(
            list(self.topics.shard_topics()),
            group=self.settings.group,
            on_assigned=self.on_assigned,
            on_revoked=self.on_revoked,
        )
        self._subscription = subscription
        try:
            async with subscription:
                while True:
                    await self.step(subscription)
        finally:
            await self.zone_reader.stop()
            await self.watchlist_reader.stop()

    async def step(self, subscription: Subscription) -> None:
        records = await subscription.getmany(
            max_records=self.settings.batch_max_records,
            # Records ready in the aligner are applied without waiting for a fetch.
            timeout_s=0 if self.aligner.ready else self.settings.poll_timeout_s,
        )
        await self._poll_config()  # after the wait: config published before these applies
        if not records and not self.aligner.held:
            await self._publish(self.fusion.engine.take())  # closes from config changes
            if not self._idle and subscription.assignment() and await subscription.lag() == 0:
                # Caught up (an empty poll alone is not: Kafka may still be fetching): the
                # cell stage need not wait for these partitions' marks.
                mine = self._shards(subscription.assignment())
                await self._publish(self.fusion.cell_marks(mine, idle=True))
                self._idle = True
            return
        async with self._ownership.lock:
            # A partition revoked between the poll and now belongs to another member: its
            # records are theirs to process (from our checkpoint). One assigned whose
            # on_assigned has not run yet is taken over here (its checkpoint loaded).
            records = self._ownership.mine(records, subscription.assignment())
            if records:
                # Loading a checkpoint moves the consumer (and the aligner) to its offsets:
                # records in hand below them are dropped, the rest are delivered again.
                await self._load(self._shards(frozenset(r.topic_partition for r in records)))
                owned = self._ownership.owned
                self.aligner.add(r for r in records if r.partition in owned)
            ready = self.aligner.take(
                await subscription.partition_lags(), self.settings.batch_max_records
            )
            self._throttle(subscription)
            HELD.set(self.aligner.held)
            if ready:
                await self._apply(ready)

    def _throttle(self, subscription: Subscription) -> None:
        """Pause fetching from an input partition whose queue is full (it waits for
        another input to catch up in event time), resume it once half drained."""
        full = self.settings.held_max_records
        pause = {
            tp
            for tp in subscription.assignment()
            if tp not in self._paused and self.aligner.queued(tp) >= full
        }
        resume = {tp for tp in self._paused if self.aligner.queued(tp) <= full // 2}
        if pause:
            subscription.pause(pause)
            self._paused |= pause
            log.info("input paused: waiting for another input", partitions=sorted(pause))
        if resume:
            subscription.resume(resume)
            self._paused -= resume

    async def _apply(self, records: list[Record]) -> None:
        """Apply records released by the aligner (their shards' states loaded)."""
        self._idle = False
        self._mid_batch = True
        started = time.perf_counter()
        result = self.fusion.process(records)
        await self._publish(
            [
                *result.outgoing,
                *(dead_letter(r.record, r.reason, self.settings.group) for r in result.refused),
            ]
        )
        if self._after_publish is not None:
            await self._after_publish(records)
        self._mid_batch = False
        for record in records:
            self._pending[record.topic_partition] = record
        self._since_checkpoint += len(records)
        self.batches += 1
        if self._since_checkpoint >= self.settings.checkpoint_every_records:
            await self.checkpoint(set(self.fusion.states))
        BATCH_SECONDS.observe(time.perf_counter() - started)

    async def _poll_config(self) -> None:
        changed_zones = await self.zone_reader.poll()
        changed_watchlist = await self.watchlist_reader.poll()
        self._count_config_refusals()
        if changed_zones:
            self.fusion.set_zones(self.zone_reader.rows.values())
            log.info("zones changed", active=len(self.fusion.zones.ids))
        if changed_watchlist:
            self.fusion.set_watchlist(self.watchlist_reader.rows.values())
            log.info("watchlist changed", entries=len(self.fusion.watchlist.entries))

    def _count_config_refusals(self) -> None:
        """A zone or watchlist entry that does not validate is skipped by its table reader
        (logged there with the reason) and the others still apply; counted here."""
        for reader in (self.zone_reader, self.watchlist_reader):
            counted = self._config_refused.get(reader.topic, 0)
            if reader.skipped > counted:
                CONFIG_REFUSED.labels(reader.topic).inc(reader.skipped - counted)
                self._config_refused[reader.topic] = reader.skipped

    async def checkpoint(self, shards: set[int]) -> None:
        """Save these partitions' states, then commit the offsets they reflect."""
        states = {
            s: encode_state(self.fusion.states[s])
            for s in shards
            if s in self.fusion.states and s in self._ownership.owned
        }
        if not states:
            return
        await self._retrying("save checkpoint", self.checkpoints.save, self.settings.group, states)
        CHECKPOINTS.inc(len(states))
        done = [
            r
            for tp, r in self._pending.items()
            if tp[1] in states and tp[0] in self.topics.shard_topics()
        ]
        if done and self._subscription is not None:
            try:
                await self._subscription.commit(done)
            except CommitError as exc:  # moved on: the checkpoint still says what is done
                log.warning("offsets not committed", reason=str(exc))
        for record in done:
            self._pending.pop(record.topic_partition, None)
        self._since_checkpoint = 0

    async def _publish(self, outgoing: list[Outgoing]) -> None:
        if outgoing:
            await self._retrying("publish", self.bus.publish_many, outgoing)

    async def drained(self) -> bool:
        """True when every assigned record has been processed and its events published
        (an empty poll came back after the last batch)."""
        sub = self._subscription
        return (
            sub is not None
            and self._idle
            and not self.aligner.held
            and bool(sub.assignment())
            and await sub.lag() == 0
        )

    async def health(self) -> ComponentHealth:
        facts: dict[str, JsonValue] = {
            "partitions": list[JsonValue](sorted(self.fusion.states)),
            "open_alerts": sum(len(s.alerts) for s in self.fusion.states.values()),
            "late": sum(s.late for s in self.fusion.states.values()),
            "held": self.aligner.held,
            "zones": len(self.fusion.zones.ids),
            "watchlist": len(self.fusion.watchlist.entries),
            "config_skipped": self.zone_reader.skipped + self.watchlist_reader.skipped,
        }
        if self._retrying.problem is not None:
            return ComponentHealth(
                name="fusion", status="down", detail=self._retrying.problem, facts=facts
            )
        if self._subscription is not None:
            sub = await self._subscription.health()
            if not sub.alive:
                return ComponentHealth(name="fusion", status="down", detail=sub.reason, facts=facts)
            facts["lag"] = sub.lag
            # Every record fetched has been applied and its alerts published.
            facts["caught_up"] = await self.drained()
        return ComponentHealth(name="fusion", status="ok", facts=facts)
