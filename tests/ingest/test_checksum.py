"""Our NMEA checksum is pyais's (and a plain XOR fold), on every corpus line and any bytes."""

from __future__ import annotations

from functools import reduce
from operator import xor

from hypothesis import given
from hypothesis import strategies as st
from pyais.util import compute_checksum

from ingest.nmea import sentence_checksum, xor_bytes
from tests.ingest.support import CORPORA


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
