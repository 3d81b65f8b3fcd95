"""Framing of one received line: an optional leading timestamp column, an optional
NMEA 4.0 tag block (``\\s:station,c:unixtime*hh\\``), then the NMEA sentence itself.

Tag blocks are parsed here rather than with pyais's lazily initialised ``TagBlock`` because
we need two fields on every line and their checksum, and an error we can name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ingest.errors import SentenceRejected
from schemas.ais import RejectReason

_TAG = 0x5C  # backslash
_SENTENCE_STARTS = (b"!", b"$", b"\\")
# Unix times above this are milliseconds (some receivers write c: in ms): 1e11 s is year 5138.
_MILLISECONDS_ABOVE = 100_000_000_000


@dataclass(slots=True)  # not frozen: a frozen init costs ~1 us a line (object.__setattr__)
class FramedLine:
    """A line split into what the receiver added and the NMEA sentence it carried."""

    sentence: bytes
    recorded_at: datetime | None = None
    """Reception time written by the receiver: tag block ``c:``, else a timestamp column."""
    station: str | None = None
    """Receiving station, tag block ``s:``."""
    group: str | None = None
    """Tag block ``g:`` (sentence-number, count, group id) of a multi-sentence message."""


_WORD = 0xFFFF_FFFF_FFFF_FFFF


def xor_bytes(data: bytes) -> int:
    """The XOR of all bytes of ``data`` (the NMEA checksum of a body), eight bytes at a
    time: the bytes become one integer, its 64-bit words are XORed, then the word's bytes.
    Same result as ``functools.reduce(operator.xor, data, 0)``, about twice as fast."""
    x = int.from_bytes(data, "little")
    word = 0
    while x:
        word ^= x & _WORD
        x >>= 64
    word ^= word >> 32
    word ^= word >> 16
    word ^= word >> 8
    return word & 0xFF


def sentence_checksum(sentence: bytes) -> int:
    """The checksum of an NMEA sentence: everything between the leading '!' or '$' and the
    first '*' (what ``pyais.util.compute_checksum`` computes)."""
    return xor_bytes(sentence[1:].split(b"*", 1)[0])


def frame_line(line: bytes) -> FramedLine:
    """Split ``line`` (already stripped). Raises ``SentenceRejected`` with a reason."""
    first = line[:1]
    if first == b"!":
        if line[-3:-2] == b"*":
            return FramedLine(line)  # the common case: a bare sentence, nothing to split
        return FramedLine(_cut_trailer(line))
    if first == b"\\":
        return _frame_tag_block(line)
    start = _sentence_start(line)
    if start <= 0:
        if first == b"$":
            return FramedLine(line)
        raise SentenceRejected(RejectReason.MALFORMED, "no NMEA sentence in line")
    column = line[:start].strip(b" \t,;")
    recorded_at = parse_timestamp(column.decode("ascii", "replace"))
    rest = line[start:]
    if rest[:1] == b"\\":
        framed = _frame_tag_block(rest)
        if framed.recorded_at is None:
            return FramedLine(framed.sentence, recorded_at, framed.station, framed.group)
        return framed
    return FramedLine(_cut_trailer(rest), recorded_at)


def _cut_trailer(sentence: bytes) -> bytes:
    """Drop what some relays append after the checksum (the US Coast Guard's NAIS adds
    ``,s36310,d-081,T59.01,...``; some logs keep a literal ``\\x0d\\x0a``): the
    checksum covers only the sentence, and we do not use those receiver fields."""
    # The six-bit payload alphabet has no '*', so the first one starts the checksum.
    star = sentence.find(b"*")
    return sentence if star < 0 else sentence[: star + 3]


def _sentence_start(line: bytes) -> int:
    found = [i for i in (line.find(s) for s in _SENTENCE_STARTS) if i >= 0]
    return min(found) if found else -1


def _frame_tag_block(line: bytes) -> FramedLine:
    end = line.find(b"\\", 1)
    if end < 0:
        raise SentenceRejected(RejectReason.MALFORMED, "tag block is not closed by '\\'")
    block = line[1:end]
    body, star, checksum = block.rpartition(b"*")
    if not star:
        raise SentenceRejected(RejectReason.MALFORMED, "tag block has no checksum")
    try:
        expected = int(checksum, 16)
    except ValueError:
        raise SentenceRejected(
            RejectReason.MALFORMED, f"tag block checksum {checksum!r} is not hex"
        ) from None
    if xor_bytes(body) != expected:
        raise SentenceRejected(RejectReason.CHECKSUM, "tag block checksum mismatch")
    recorded_at: datetime | None = None
    station: str | None = None
    group: str | None = None
    for field in body.decode("ascii", "replace").split(","):
        code, _, value = field.partition(":")
        if code == "c":
            recorded_at = _unix_time(value)
        elif code == "s":
            station = value or None
        elif code == "g":
            group = value or None
    return FramedLine(_cut_trailer(line[end + 1 :]), recorded_at, station, group)


def _unix_time(value: str) -> datetime:
    try:
        seconds = float(value)
    except ValueError:
        raise SentenceRejected(RejectReason.MALFORMED, f"tag block time c:{value!r}") from None
    if seconds > _MILLISECONDS_ABOVE:
        seconds /= 1000.0
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise SentenceRejected(RejectReason.MALFORMED, f"tag block time c:{value!r}") from None


def parse_timestamp(text: str) -> datetime:
    """A leading timestamp column: Unix seconds (or ms), or ISO 8601 (UTC if no zone)."""
    try:
        return _unix_time(text)
    except SentenceRejected:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SentenceRejected(
            RejectReason.MALFORMED, f"leading column {text[:40]!r} is not a timestamp"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def recorded_time(line: bytes) -> datetime | None:
    """The reception time a capture recorded for ``line``, if any (for paced replay)."""
    try:
        return frame_line(line.strip()).recorded_at
    except SentenceRejected:
        return None
