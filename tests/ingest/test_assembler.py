"""The fragment assembler: whole messages from interleaved fragments, and nothing lost."""

from __future__ import annotations

from ingest.assembler import FragmentAssembler, Incomplete


def test_interleaved_fragments_of_two_messages_each_assemble_in_order() -> None:
    assembler: FragmentAssembler[str] = FragmentAssembler(timeout_s=10)
    evicted: list[Incomplete] = []
    a, b = (None, "A", 1, 2), (None, "A", 2, 2)
    assert assembler.add(a, 1, "a1", b"line a1", 0.0, evicted) is None
    assert assembler.add(b, 2, "b2", b"line b2", 0.1, evicted) is None
    whole_a = assembler.add(a, 2, "a2", b"line a2", 0.2, evicted)
    whole_b = assembler.add(b, 1, "b1", b"line b1", 0.3, evicted)
    assert whole_a is not None and whole_a.parts == ["a1", "a2"]
    assert whole_b is not None and whole_b.parts == ["b1", "b2"]  # fragment order, not arrival
    assert whole_b.raw == [b"line b2", b"line b1"]  # lines as they arrived
    assert evicted == [] and len(assembler) == 0


def test_same_sequence_id_on_another_channel_or_station_is_another_message() -> None:
    assembler: FragmentAssembler[str] = FragmentAssembler(timeout_s=10)
    evicted: list[Incomplete] = []
    assembler.add(("s1", "A", 3, 2), 1, "x", b"x", 0, evicted)
    assembler.add(("s1", "B", 3, 2), 1, "y", b"y", 0, evicted)
    assembler.add(("s2", "A", 3, 2), 1, "z", b"z", 0, evicted)
    assert len(assembler) == 3 and evicted == []


def test_fragments_that_never_complete_are_handed_back_after_the_timeout() -> None:
    assembler: FragmentAssembler[str] = FragmentAssembler(timeout_s=5)
    evicted: list[Incomplete] = []
    assembler.add((None, "A", 1, 2), 1, "a1", b"a1", 100.0, evicted)
    assembler.expire(104.0, evicted)
    assert evicted == []
    assembler.expire(106.0, evicted)
    assert [e.raw for e in evicted] == [[b"a1"]]
    assert "missing fragment(s) [2] of 2" in evicted[0].detail
    assert len(assembler) == 0


def test_a_reused_sequence_id_rejects_the_unfinished_message_it_replaces() -> None:
    assembler: FragmentAssembler[str] = FragmentAssembler(timeout_s=10)
    evicted: list[Incomplete] = []
    key = (None, "B", 7, 2)
    assembler.add(key, 1, "old1", b"old1", 0.0, evicted)
    assembler.add(key, 1, "new1", b"new1", 1.0, evicted)
    whole = assembler.add(key, 2, "new2", b"new2", 1.5, evicted)
    assert [e.raw for e in evicted] == [[b"old1"]]
    assert whole is not None and whole.parts == ["new1", "new2"]


def test_a_late_fragment_does_not_complete_a_timed_out_message() -> None:
    assembler: FragmentAssembler[str] = FragmentAssembler(timeout_s=5)
    evicted: list[Incomplete] = []
    key = (None, "A", 1, 2)
    assembler.add(key, 1, "a1", b"a1", 0.0, evicted)
    assert assembler.add(key, 2, "a2", b"a2", 60.0, evicted) is None
    assert [e.raw for e in evicted] == [[b"a1"]]
    assembler.flush(evicted)
    assert [e.raw for e in evicted] == [[b"a1"], [b"a2"]]
