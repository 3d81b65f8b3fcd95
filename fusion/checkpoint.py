"""Where fusion keeps each partition's state with the input offsets it reflects.

A small interface with two implementations: PostgreSQL (``store.checkpoints``, the services)
and memory (``lookout up``, whose in-memory bus forgets its offsets on restart too, and
tests of the engine alone). A checkpoint is written after the alerts it led to are durable
on the bus and before the offsets are committed, so a restarted instance loads it, skips
the redelivered records the state already reflects, and republishes nothing new twice
(republished events are byte-identical: ``fusion.engine``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class CheckpointError(RuntimeError):
    """Checkpoints could not be read or written (the service backs off and retries)."""


class CheckpointStore(Protocol):
    async def load(self, group: str, shard: int) -> bytes | None:
        """The latest state of partition ``shard`` for ``group``, or None."""
        ...

    async def save(self, group: str, states: Mapping[int, bytes]) -> None:
        """Store the states of several partitions atomically."""
        ...


class MemoryCheckpointStore:
    def __init__(self) -> None:
        self.saved: dict[tuple[str, int], bytes] = {}

    async def load(self, group: str, shard: int) -> bytes | None:
        return self.saved.get((group, shard))

    async def save(self, group: str, states: Mapping[int, bytes]) -> None:
        for shard, state in states.items():
            self.saved[(group, shard)] = state
