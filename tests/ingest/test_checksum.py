"""Our NMEA checksum is pyais's (and a plain XOR fold), on every corpus line and any bytes."""

from __future__ import annotations

from functools import reduce
from operator import xor

from hypothesis import given
from hypothesis import strategies as st
from pyais.util import compute_checksum

from ingest.nmea import sentence_checksum, xor_bytes
from tests.ingest.support import CORPORA, decode_all


def test_every_corpus_sentence_has_pyais_checksum() -> None:
    count = 0
    for path in sorted(CORPORA.glob("*/*")):
        if path.suffix in {".chk"} or path.name in {"COPYING", "LICENSE"}:
            continue
        for line in path.read_bytes().splitlines():
            for start in (line.find(b"!"), line.find(b"$")):
                if start >= 0:
                    sentence = line[start:]
                    assert sentence_checksum(sentence) == compute_checksum(sentence)
                    count += 1
    assert count > 1000


@given(st.binary(max_size=300))
def test_xor_fold_is_the_xor_of_all_bytes(data: bytes) -> None:
    assert xor_bytes(data) == reduce(xor, data, 0)


@given(st.binary(max_size=120))
def test_sentence_checksum_is_pyais_compute_checksum(data: bytes) -> None:
    sentence = b"!" + data
    assert sentence_checksum(sentence) == compute_checksum(sentence)


def test_a_checksum_cut_to_one_digit_is_rejected_even_when_it_matches() -> None:
    whole = b"!AIVDM,1,1,,A,15TJvF00211TSFjDoHAl;kEp2W3h,0*00"
    events, _ = decode_all([whole])
    assert [type(e).__name__ for e in events] == ["PositionReport"]
    events, _ = decode_all([whole[:-1]])  # "*0": pyais alone would accept it (0 == 0)
    assert [(type(e).__name__, getattr(e, "reason", None)) for e in events] == [
        ("RejectRecord", "checksum")
    ]
