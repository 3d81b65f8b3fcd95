"""The co-partitioning rule on its own: every partition has exactly one owner among the
members that read its topic, and members that read the same topics own the same partition
numbers in each of them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bus.assignment import copartitioned

TOPICS = ["ais.positions", "ais.static", "fusion.cells"]


@given(
    members=st.integers(1, 7),
    partitions=st.integers(1, 12),
    extra=st.dictionaries(st.sampled_from(TOPICS), st.integers(0, 12), max_size=2),
)
def test_each_partition_one_owner_and_partition_p_together(
    members: int, partitions: int, extra: dict[str, int]
) -> None:
    counts = {topic: partitions for topic in TOPICS[:2]} | extra
    subscriptions = {f"member-{m:02d}": set(TOPICS[:2]) for m in range(members)}
    numbers = {topic: range(count) for topic, count in counts.items()}
    assignment = copartitioned(subscriptions, numbers)
    owned = [tp for tps in assignment.values() for tp in tps]
    expected = {(t, p) for t in TOPICS[:2] for p in range(counts[t])}
    assert sorted(owned) == sorted(expected)  # each once, nothing unsubscribed
    if counts["ais.positions"] == counts["ais.static"]:
        for tps in assignment.values():
            by_topic = {t: {p for tt, p in tps if tt == t} for t in TOPICS[:2]}
            assert by_topic["ais.positions"] == by_topic["ais.static"]
    sizes = [len(tps) for tps in assignment.values()]
    assert max(sizes) - min(sizes) <= 2 * (max(counts.values()) > 0)


def test_a_topic_read_by_some_members_only_goes_to_those() -> None:
    assignment = copartitioned(
        {"a": {"ais.positions"}, "b": {"ais.positions", "ais.static"}},
        {"ais.positions": range(4), "ais.static": range(4)},
    )
    assert assignment["a"] == {("ais.positions", 0), ("ais.positions", 2)}
    assert assignment["b"] == {("ais.positions", 1), ("ais.positions", 3)} | {
        ("ais.static", p) for p in range(4)
    }


def test_a_topic_without_metadata_is_not_assigned() -> None:
    assert copartitioned({"a": {"x", "y"}}, {"x": range(2)}) == {"a": {("x", 0), ("x", 1)}}
