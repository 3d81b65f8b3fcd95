"""Reassembly of multi-sentence AIS messages (types 5, 19, 24 ... over two or more lines).

Fragments are grouped per (source station, channel, sequence id, fragment count), so the
fragments of several messages may interleave, as they do on a busy relay that merges
receivers. A group that has not completed ``timeout_s`` after its first fragment, or whose
sequence id is reused before it completed, is handed back as incomplete: the caller
rejects it with reason ``incomplete``, so no fragment disappears silently.

The assembler has no clock: callers pass ``now_s`` (the reception time of the line being
processed), so replaying a capture gives the same result at any speed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")

FragmentKey = tuple[str | None, str, int | None, int]
"""(station, channel, sequence id, fragment count)"""


@dataclass(slots=True)
class _Group(Generic[T]):
    first_seen_s: float
    parts: dict[int, T] = field(default_factory=dict)
    raw: list[bytes] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Incomplete:
    """Fragments that never made a whole message, with the lines they came from."""

    raw: list[bytes]
    detail: str


@dataclass(frozen=True, slots=True)
class Assembled(Generic[T]):
    """The fragments of one message, in fragment-number order; ``raw`` in arrival order."""

    parts: list[T]
    raw: list[bytes]


class FragmentAssembler(Generic[T]):
    """Collects fragments until their message is whole. ``T`` is the parsed fragment."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._groups: dict[FragmentKey, _Group[T]] = {}
        self._last_sweep_s = float("-inf")

    def __len__(self) -> int:
        """Messages waiting for fragments."""
        return len(self._groups)

    def add(
        self,
        key: FragmentKey,
        number: int,
        fragment: T,
        raw: bytes,
        now_s: float,
        evicted: list[Incomplete],
    ) -> Assembled[T] | None:
        """Add fragment ``number`` (1-based) of a message of ``key[3]`` fragments. Returns the
        whole message when this fragment completes it. Groups this fragment proves broken
        (a repeated fragment number: the sequence id was reused) go to ``evicted``."""
        count = key[3]
        group = self._groups.get(key)
        if group is not None and (
            number in group.parts or now_s - group.first_seen_s > self.timeout_s
        ):
            del self._groups[key]
            evicted.append(Incomplete(group.raw, _missing(group, count)))
            group = None
        if group is None:
            group = _Group(first_seen_s=now_s)
            self._groups[key] = group
        group.parts[number] = fragment
        group.raw.append(raw)
        if len(group.parts) < count:
            return None
        del self._groups[key]
        return Assembled([group.parts[n] for n in sorted(group.parts)], group.raw)

    def expire(self, now_s: float, evicted: list[Incomplete]) -> None:
        """Move groups older than the timeout to ``evicted``. Cheap to call often: it scans
        at most once per second of ``now_s``. Time going backwards (a later line stamped
        earlier, or one stamped in the future before it) still sweeps: any step of a second
        or more either way does."""
        if abs(now_s - self._last_sweep_s) < 1.0 or not self._groups:
            return
        self._last_sweep_s = now_s
        stale = [k for k, g in self._groups.items() if now_s - g.first_seen_s > self.timeout_s]
        for key in stale:
            group = self._groups.pop(key)
            evicted.append(Incomplete(group.raw, _missing(group, key[3])))

    def flush(self, evicted: list[Incomplete]) -> None:
        """End of input: every group still waiting is incomplete."""
        for key, group in self._groups.items():
            evicted.append(Incomplete(group.raw, _missing(group, key[3])))
        self._groups.clear()


def _missing(group: _Group[T], count: int) -> str:
    missing = [n for n in range(1, count + 1) if n not in group.parts]
    return f"multi-sentence message missing fragment(s) {missing} of {count}"
