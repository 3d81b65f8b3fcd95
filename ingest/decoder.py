"""The AIS decoder: received lines in, typed events or rejects out, nothing in between lost.

Each non-blank, non-comment line ends in exactly one place: part of a ``PositionReport`` or
``StaticReport``, or part of a ``RejectRecord`` with its reason. ``DecodeStats`` counts both
sides so a caller can check that they add up.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from msgspec import ValidationError
from pyais.exceptions import AISBaseException, UnknownMessageException
from pyais.messages import AISSentence, NMEASentenceFactory

from ingest.assembler import FragmentAssembler, FragmentKey, Incomplete
from ingest.errors import SentenceRejected
from ingest.event_ids import EventIds
from ingest.identity import Type24Identities
from ingest.mapping import (
    IDENTITY_TOO,
    MIN_PAYLOAD_BITS,
    POSITION_TYPES,
    position_report,
    static_report,
)
from ingest.mmsi import classify_mmsi
from ingest.nmea import FramedLine, frame_line, sentence_checksum
from ingest.safety import MIN_PAYLOAD_BITS as SAFETY_MIN_BITS
from ingest.safety import SAFETY_TYPES, safety_message
from schemas.ais import PositionReport, RejectReason, RejectRecord, StaticReport
from schemas.safety import SafetyMessage

AisEvent = PositionReport | StaticReport | SafetyMessage | RejectRecord
_MIN_BITS = {**MIN_PAYLOAD_BITS, **SAFETY_MIN_BITS}


@dataclass(slots=True)
class DecodeStats:
    """What happened to every line read. ``lines_read`` == ``lines_ignored`` +
    ``lines_decoded`` + ``lines_rejected`` once the decoder has been flushed."""

    lines_read: int = 0
    lines_ignored: int = 0
    """Blank lines and '#' comments: not data."""
    lines_decoded: int = 0
    """Lines that went into a typed event (a multi-sentence message counts all its lines)."""
    lines_rejected: int = 0
    decoded_by_type: Counter[int] = field(default_factory=Counter)
    """Messages decoded into typed events, per AIS message type (a type 19 or 21 gives two
    events: its position and the identity it carries)."""
    repaired_by_field: Counter[str] = field(default_factory=Counter)
    """Optional fields sent out of range and published as None, per field."""
    rejected_by_reason: Counter[str] = field(default_factory=Counter)
    """Reject records per reason."""

    @property
    def lines_pending(self) -> int:
        return self.lines_read - self.lines_ignored - self.lines_decoded - self.lines_rejected


@dataclass(frozen=True, slots=True)
class _Fragment:
    sentence: AISSentence
    framed: FramedLine


class AisDecoder:
    """Decodes the lines of one source. Not thread-safe; one per feed."""

    def __init__(
        self,
        source: str,
        fragment_timeout_s: float = 10.0,
        *,
        max_clock_ahead_s: float = 300.0,
        max_line_bytes: int = 1024,
        identity_cache_size: int = 100_000,
    ) -> None:
        self.source = source
        self.max_clock_ahead = timedelta(seconds=max_clock_ahead_s)
        """How far a recorded time may be ahead of reception before it is refused."""
        self.max_line_bytes = max_line_bytes
        """Longer lines are rejected as malformed; rejects keep this many bytes of a line."""
        self.stats = DecodeStats()
        self._assembler: FragmentAssembler[_Fragment] = FragmentAssembler(fragment_timeout_s)
        self._last_recorded: datetime | None = None
        self._identities = Type24Identities(identity_cache_size)
        self._ids: list[str] | None = None
        self._event_ids = EventIds(source)

    def decode_lines(
        self,
        lines: Iterable[bytes],
        received_at: datetime,
        out: list[AisEvent],
        ids: list[str] | None = None,
    ) -> None:
        """Decode ``lines`` received at ``received_at`` (UTC), appending to ``out`` (and
        each event's id, derived from its raw lines, to ``ids`` when given)."""
        self._ids = ids
        try:
            self._decode_lines(lines, received_at, out)
        finally:
            self._ids = None

    def _decode_lines(
        self, lines: Iterable[bytes], received_at: datetime, out: list[AisEvent]
    ) -> None:
        stats = self.stats
        for raw in lines:
            stats.lines_read += 1
            line = raw.strip()
            if not line or line[0] == 0x23:  # '#': a comment, as in gpsd's sample files
                stats.lines_ignored += 1
                continue
            if len(line) > self.max_line_bytes:
                detail = f"line longer than {self.max_line_bytes} bytes"
                self._reject(out, [line], received_at, RejectReason.MALFORMED, detail)
                continue
            try:
                self._decode_line(line, received_at, out)
            except SentenceRejected as exc:
                self._reject(out, [line], received_at, exc.reason, exc.detail, exc.msg_type)
            except Exception as exc:  # a decoder bug must not stop the feed; it is recorded
                detail = f"{type(exc).__name__}: {exc}"
                self._reject(out, [line], received_at, RejectReason.DECODE_ERROR, detail)

    def expire(self, now: datetime, out: list[AisEvent], ids: list[str] | None = None) -> None:
        """Reject multi-sentence messages that waited longer than the fragment timeout."""
        evicted: list[Incomplete] = []
        self._assembler.expire(self._clamped(self._stream_time(None, now), now), evicted)
        self._ids = ids
        try:
            self._reject_incomplete(evicted, now, out)
        finally:
            self._ids = None

    def flush(self, now: datetime, out: list[AisEvent], ids: list[str] | None = None) -> None:
        """End of input: every fragment still waiting is rejected as incomplete."""
        evicted: list[Incomplete] = []
        self._assembler.flush(evicted)
        self._ids = ids
        try:
            self._reject_incomplete(evicted, now, out)
        finally:
            self._ids = None

    # --------------------------------------------------------------------------------

    def _decode_line(self, line: bytes, received_at: datetime, out: list[AisEvent]) -> None:
        framed = frame_line(line)
        try:
            sentence = NMEASentenceFactory.produce(framed.sentence)
        except UnknownMessageException:
            raise SentenceRejected(RejectReason.UNSUPPORTED, "not an AIS sentence") from None
        except (AISBaseException, ValueError, IndexError) as exc:
            raise SentenceRejected(RejectReason.MALFORMED, _describe(exc)) from None
        if not isinstance(sentence, AISSentence):
            # e.g. Gatehouse $PGHP wrappers: metadata we do not use yet.
            raise SentenceRejected(RejectReason.UNSUPPORTED, f"{sentence.TYPE} sentence")
        # pyais's is_valid, computed faster; stored so pyais's assembly reuses it
        sentence.is_valid = sentence.checksum == sentence_checksum(sentence.raw)
        if not sentence.is_valid:
            raise SentenceRejected(RejectReason.CHECKSUM, "checksum mismatch")
        if sentence.raw[-2:-1] == b"*":
            # "*0" of a line cut short after a checksum of "0x": pyais reads it as 0 and can
            # match by chance; NMEA 0183 checksums are two hex digits.
            raise SentenceRejected(RejectReason.CHECKSUM, "checksum field has one digit")
        if not sentence.payload:
            raise SentenceRejected(RejectReason.MALFORMED, "empty payload")
        if sentence.frag_cnt == 1:
            if self._last_recorded is not None or framed.recorded_at is not None:
                self._stream_time(framed.recorded_at, received_at)
            self._emit(sentence, framed, [line], received_at, out)
            return
        now_s = self._clamped(self._stream_time(framed.recorded_at, received_at), received_at)
        evicted: list[Incomplete] = []
        key: FragmentKey = (
            f"g:{framed.group.rpartition('-')[2]}" if framed.group else framed.station,
            sentence.channel,
            sentence.seq_id,
            sentence.frag_cnt,
        )
        whole = self._assembler.add(
            key, sentence.frag_num, _Fragment(sentence, framed), line, now_s, evicted
        )
        self._assembler.expire(now_s, evicted)
        self._reject_incomplete(evicted, received_at, out)
        if whole is None:
            return
        first = whole.parts[0].framed
        station = next((p.framed.station for p in whole.parts if p.framed.station), None)
        recorded = next((p.framed.recorded_at for p in whole.parts if p.framed.recorded_at), None)
        framed = FramedLine(first.sentence, recorded, station, first.group)
        try:
            merged = AISSentence.assemble_from_iterable([p.sentence for p in whole.parts])
            self._emit(merged, framed, whole.raw, received_at, out)
        except SentenceRejected as exc:
            self._reject(out, whole.raw, received_at, exc.reason, exc.detail, exc.msg_type)
        except Exception as exc:  # as in decode_lines, but for every line of the message
            detail = f"{type(exc).__name__}: {exc}"
            self._reject(out, whole.raw, received_at, RejectReason.DECODE_ERROR, detail)

    def _emit(
        self,
        sentence: AISSentence,
        framed: FramedLine,
        raw: list[bytes],
        received_at: datetime,
        out: list[AisEvent],
    ) -> None:
        msg_type = sentence.ais_id
        if msg_type not in _MIN_BITS:
            raise SentenceRejected(
                RejectReason.UNSUPPORTED, f"message type {msg_type} is not mapped", msg_type
            )
        bits = len(sentence.payload) * 6 - sentence.fill_bits
        if bits < _MIN_BITS[msg_type]:
            raise SentenceRejected(
                RejectReason.MALFORMED,
                f"type {msg_type} payload has {bits} bits, needs {_MIN_BITS[msg_type]}",
                msg_type,
            )
        try:
            msg = sentence.decode()
        except (AISBaseException, ValueError, IndexError, TypeError) as exc:
            raise SentenceRejected(RejectReason.DECODE_ERROR, _describe(exc), msg_type) from None
        recorded = framed.recorded_at
        event_time = recorded or received_at
        if recorded is not None and recorded - received_at > self.max_clock_ahead:
            raise SentenceRejected(
                RejectReason.INVALID_VALUE,
                f"event time {event_time.isoformat()} is more than "
                f"{self.max_clock_ahead.total_seconds():g} s ahead of reception time "
                f"{received_at.isoformat()} (a wrong receiver clock?)",
                msg_type,
            )
        info = classify_mmsi(msg.mmsi)
        station, vector = framed.station, sentence.bv
        identity: StaticReport | None = None
        try:
            event: AisEvent
            if msg_type in POSITION_TYPES:
                event = position_report(
                    msg, msg_type, event_time, self.source, station, info, vector
                )
                if msg_type in IDENTITY_TOO:
                    identity = static_report(
                        msg, msg_type, event_time, self.source, station, info, vector
                    )
            elif msg_type in SAFETY_TYPES:  # a rescue depends on these: ais.safety
                event = safety_message(msg, msg_type, event_time, self.source, station, info)
            else:
                event = static_report(msg, msg_type, event_time, self.source, station, info, vector)
        except ValidationError as exc:
            raise SentenceRejected(
                RejectReason.INVALID_VALUE, _describe_validation(exc), msg_type
            ) from None
        stats = self.stats
        if type(event) is StaticReport:
            event = self._identities.merged(event)
        if isinstance(event, (PositionReport, StaticReport)) and event.repairs:
            self._count_repairs(event.repairs)
        self._put(out, event, raw, event_time)
        if identity is not None:
            if identity.repairs:
                self._count_repairs(identity.repairs)
            self._put(out, identity, raw, event_time, "identity")
        stats.lines_decoded += len(raw)
        stats.decoded_by_type[msg_type] += 1

    def _count_repairs(self, repairs: tuple[str, ...]) -> None:
        for repair in repairs:
            self.stats.repaired_by_field[repair.partition(":")[0]] += 1

    def _stream_time(self, recorded: datetime | None, received_at: datetime) -> datetime:
        """The clock multi-sentence timeouts run on: the capture's own times once it has
        any (a replay at any speed assembles the same way), else reception time."""
        if recorded is not None:
            self._last_recorded = recorded
            return recorded
        return self._last_recorded or received_at

    def _clamped(self, stream_time: datetime, received_at: datetime) -> float:
        """``stream_time`` for fragment expiry, at most the clock-ahead tolerance past
        reception: one line stamped far in the future must not hold back every timeout."""
        return min(stream_time, received_at + self.max_clock_ahead).timestamp()

    def _reject_incomplete(
        self, evicted: list[Incomplete], received_at: datetime, out: list[AisEvent]
    ) -> None:
        for group in evicted:
            self._reject(out, group.raw, received_at, RejectReason.INCOMPLETE, group.detail)
        evicted.clear()

    def _reject(
        self,
        out: list[AisEvent],
        raw: list[bytes],
        received_at: datetime,
        reason: RejectReason,
        detail: str,
        msg_type: int | None = None,
    ) -> None:
        self.stats.lines_rejected += len(raw)
        self.stats.rejected_by_reason[reason.value] += 1
        cap = self.max_line_bytes
        if any(len(r) > cap for r in raw):
            detail += f" (raw cut to its first {cap} bytes)"
            raw = [r[:cap] for r in raw]
        station, recorded_at = _tags(raw)
        record = RejectRecord.validated(
            {
                "source": self.source,
                "reason": reason,
                "detail": detail,
                "raw": [r.decode("ascii", "backslashreplace") for r in raw],
                "received_at": received_at,
                "msg_type": msg_type,
                "station": station,
                "recorded_at": recorded_at,
            }
        )
        self._put(out, record, raw, recorded_at or received_at)

    def _put(
        self,
        out: list[AisEvent],
        event: AisEvent,
        raw: list[bytes],
        event_time: datetime,
        kind: str = "",
    ) -> None:
        out.append(event)
        if self._ids is not None:
            self._ids.append(self._event_ids.of(raw, event_time, kind))


def _tags(raw: list[bytes]) -> tuple[str | None, datetime | None]:
    """The station and recorded time of a rejected line (or message), from the first of its
    lines whose framing can be read (a tag block that fails its checksum is not trusted)."""
    station: str | None = None
    recorded_at: datetime | None = None
    for line in raw:
        try:
            framed = frame_line(line.strip())
        except SentenceRejected:
            continue
        station = station or framed.station
        recorded_at = recorded_at or framed.recorded_at
        if station and recorded_at:
            break
    return station, recorded_at


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _describe_validation(exc: ValidationError) -> str:
    """msgspec names the field and what is wrong: "Expected `float` <= 90.0 - at `$.lat`"."""
    return _describe(exc)
