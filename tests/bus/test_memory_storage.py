"""The memory bus's partition storage (chunks of rows) reads what a plain list would."""

from __future__ import annotations

import bisect

from hypothesis import given, settings
from hypothesis import strategies as st

from bus.base import Record
from bus.memory import _CHUNK, _Partition, _Row


def row(offset: int, key: str | None) -> _Row:
    return ("t", 0, offset, key, b"v%d" % offset, (("ce_id", b"%d" % offset),), 1)


class Reference:
    """What the storage must behave like: one list of records."""

    def __init__(self, compacted: bool) -> None:
        self.compacted = compacted
        self.rows: list[_Row] = []

    def read(self, position: int, limit: int) -> list[Record]:
        start = bisect.bisect_left([r[2] for r in self.rows], position)
        return [Record(*r) for r in self.rows[start : start + limit]]

    def trim(self, keep: int, floor: int | None) -> None:
        """Never a row at or after ``floor`` (not committed by some group yet)."""
        if len(self.rows) <= keep:
            return
        safe = {r[2] for r in self.rows if floor is None or r[2] < floor}
        if self.compacted:
            latest = {r[3]: r for r in self.rows}
            self.rows = [r for r in self.rows if latest[r[3]] is r or r[2] not in safe]
        else:
            drop = min(len(self.rows) - keep, len(safe))
            self.rows = self.rows[drop:]


operations = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.integers(1, 3 * _CHUNK), st.integers(1, 50)),
        st.tuples(st.just("trim"), st.integers(0, 4 * _CHUNK), st.integers(-1, 12 * _CHUNK)),
    ),
    max_size=8,
)


@settings(max_examples=60, deadline=None)
@given(
    compacted=st.booleans(),
    ops=operations,
    reads=st.lists(st.tuples(st.integers(-5, 12 * _CHUNK), st.integers(1, 3 * _CHUNK)), max_size=6),
)
def test_reads_match_a_plain_list(
    compacted: bool, ops: list[tuple[str, int, int]], reads: list[tuple[int, int]]
) -> None:
    part, ref = _Partition(compacted), Reference(compacted)
    for op, n, arg in ops:
        if op == "append":
            for _ in range(n):
                r = row(part.next_offset, f"k{part.next_offset % arg}")
                part.append(r)
                ref.rows.append(r)
        else:
            floor = None if arg < 0 else arg  # -1: no group holds the partition
            part.trim(n, floor)
            ref.trim(n, floor)
        assert len(part) == len(ref.rows)
        assert part.rows() == ref.rows
        assert all(len(c) == _CHUNK for c in part.chunks) and len(part.tail) < _CHUNK
    for position, limit in [*reads, (0, 10**9), (part.next_offset - 1, 5)]:
        assert part.read(position, limit) == ref.read(position, limit)


def test_a_read_spanning_chunks_returns_records_in_offset_order() -> None:
    part = _Partition(False)
    for offset in range(3 * _CHUNK + 7):
        part.append(row(offset, None))
    got = part.read(_CHUNK - 3, _CHUNK + 10)
    assert [r.offset for r in got] == list(range(_CHUNK - 3, 2 * _CHUNK + 7))
    assert all(isinstance(r, Record) for r in got)
    assert part.read(3 * _CHUNK + 7, 10) == []
