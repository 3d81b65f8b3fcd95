"""Fuzzing the decoder: whatever arrives, no exception escapes, and every bad line ends in
rejects with a reason (nothing is dropped silently)."""

from __future__ import annotations

from functools import reduce
from operator import xor

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.ais import RejectReason
from tests.ingest.support import GPSD_SAMPLE, PYAIS_SAMPLE, decode_all, primary, rejects, typed

REAL_SENTENCES = [
    line
    for path in (GPSD_SAMPLE, PYAIS_SAMPLE)
    for line in path.read_bytes().splitlines()
    if line.startswith(b"!AIVD") and b",1,1," in line
]
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_accounted(lines: list[bytes]) -> None:
    """Each non-blank line is in exactly one event or one reject, each reject has a reason."""
    events, decoder = decode_all(lines)
    stats = decoder.stats
    assert stats.lines_pending == 0
    assert stats.lines_rejected == sum(len(r.raw) for r in rejects(events))
    assert stats.lines_decoded >= len(primary(events))
    for reject in rejects(events):
        assert isinstance(reject.reason, RejectReason) and reject.detail


def with_checksum(sentence: bytes) -> bytes:
    body = sentence[1 : sentence.index(b"*")]
    return sentence[: sentence.index(b"*") + 1] + f"{reduce(xor, body, 0):02X}".encode()


@FUZZ
@given(st.lists(st.binary(max_size=120), max_size=20))
def test_random_bytes_never_raise(lines: list[bytes]) -> None:
    assert_accounted(lines)


@FUZZ
@given(st.sampled_from(REAL_SENTENCES), st.data())
def test_truncated_sentences_are_rejected(sentence: bytes, data: st.DataObject) -> None:
    cut = data.draw(st.integers(min_value=1, max_value=len(sentence) - 1))
    events, _ = decode_all([sentence[:cut]])
    assert [type(e).__name__ for e in events] == ["RejectRecord"]


@FUZZ
@given(st.sampled_from(REAL_SENTENCES), st.data())
def test_corrupted_sentences_are_rejected_or_still_decode(
    sentence: bytes, data: st.DataObject
) -> None:
    at = data.draw(st.integers(min_value=0, max_value=len(sentence) - 1))
    byte = data.draw(st.integers(min_value=0, max_value=255))
    corrupted = sentence[:at] + bytes([byte]) + sentence[at + 1 :]
    events, decoder = decode_all([corrupted])
    # One event or one reject, unless the first byte became '#' (a comment, counted as such).
    # (a type 19 or 21 also gives the identity it carries: not a second message)
    assert len(primary(events)) + len(rejects(events)) + decoder.stats.lines_ignored == 1
    assert_accounted([corrupted])


@FUZZ
@given(st.sampled_from(REAL_SENTENCES), st.integers(min_value=0, max_value=9))
def test_wrong_fill_bits_with_a_valid_checksum_never_raise(sentence: bytes, fill: int) -> None:
    star = sentence.index(b"*")
    resent = with_checksum(sentence[: star - 1] + str(fill).encode() + sentence[star:])
    events, _ = decode_all([resent])
    assert len(primary(events)) + len(rejects(events)) == 1
    if fill > 5:
        assert rejects(events) and rejects(events)[0].reason is RejectReason.MALFORMED


@FUZZ
@given(
    st.lists(st.sampled_from(REAL_SENTENCES), min_size=1, max_size=10),
    st.lists(st.binary(min_size=1, max_size=60), max_size=5),
)
def test_garbage_mixed_into_real_traffic_does_not_disturb_it(
    good: list[bytes], garbage: list[bytes]
) -> None:
    assert_accounted(good + garbage)
    alone, _ = decode_all(good)
    mixed, _ = decode_all(
        [x for pair in zip(good, garbage, strict=False) for x in pair] + good[len(garbage) :]
    )
    assert len(typed(mixed)) == len(typed(alone))
