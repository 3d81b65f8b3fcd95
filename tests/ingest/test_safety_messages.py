"""AIS safety-related messages (types 12 and 14) are decoded onto ``ais.safety``, keyed by
MMSI, with their text read as a rescue would read it (``SafetyKind``).

The sentences are built with pyais's own encoder (``pyais.encode_dict``), so they are valid
AIS, with the texts an AIS-SART or MOB device sends (IEC 61097-14)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from pyais import encode_dict

from bus.memory import MemoryBus
from ingest.pipeline import run_ingest
from ingest.settings import IngestSettings
from ingest.sources.base import LineBatch
from schemas.ais import RejectReason
from schemas.safety import SafetyKind, SafetyMessage
from schemas.topics import Topic
from schemas.vessel import MmsiKind
from tests.ingest.support import RECEIVED, decode_all
from tests.ingest.test_decoder import TYPE_1, tag_block

SART_MMSI = 970_012_345
MOB_MMSI = 972_000_111
SHIP_MMSI = 525_005_123  # an Indonesian ship


def broadcast(mmsi: int, text: str) -> list[str]:
    """A type 14 (safety-related broadcast) as NMEA sentences."""
    return list(encode_dict({"type": 14, "mmsi": mmsi, "text": text}))


def addressed(mmsi: int, dest_mmsi: int, text: str) -> list[str]:
    """A type 12 (addressed safety-related message) as NMEA sentences."""
    return list(
        encode_dict({"type": 12, "mmsi": mmsi, "dest_mmsi": dest_mmsi, "seqno": 1, "text": text})
    )


@pytest.mark.parametrize(
    ("mmsi", "text", "kind"),
    [
        (SART_MMSI, "SART ACTIVE", SafetyKind.SART_ACTIVE),
        (SART_MMSI, "SART TEST", SafetyKind.SART_TEST),
        (MOB_MMSI, "MOB ACTIVE", SafetyKind.MOB),
        (MOB_MMSI, "MOB TEST", SafetyKind.MOB_TEST),
        (974_000_222, "EPIRB ACTIVE", SafetyKind.SART_ACTIVE),
        (974_000_222, "EPIRB TEST", SafetyKind.SART_TEST),
        (SHIP_MMSI, "MAYDAY ENGINE FAILURE TAKING WATER", SafetyKind.MAYDAY),
        (SHIP_MMSI, "MAN OVERBOARD", SafetyKind.MOB),
        (SHIP_MMSI, "PAN PAN STEERING FAILURE", SafetyKind.OTHER),
        (SHIP_MMSI, "RCVD YR TEST MSG", SafetyKind.OTHER),
    ],
)
def test_a_broadcast_safety_message_is_decoded_with_its_text_and_kind(
    mmsi: int, text: str, kind: SafetyKind
) -> None:
    [event], decoder = decode_all(broadcast(mmsi, text), source="tcp://relay:5631")
    assert isinstance(event, SafetyMessage)
    assert (event.mmsi, event.msg_type, event.dest_mmsi) == (mmsi, 14, None)
    assert (event.text, event.kind) == (text, kind)
    assert event.event_time == RECEIVED and event.source == "tcp://relay:5631"
    assert decoder.stats.decoded_by_type[14] == 1 and decoder.stats.lines_pending == 0


def test_an_addressed_safety_message_names_its_addressee() -> None:
    [event], _ = decode_all(addressed(SART_MMSI, SHIP_MMSI, "SART ACTIVE"))
    assert isinstance(event, SafetyMessage)
    assert (event.msg_type, event.mmsi, event.dest_mmsi) == (12, SART_MMSI, SHIP_MMSI)
    assert event.kind is SafetyKind.SART_ACTIVE
    assert event.mmsi_info.kind is MmsiKind.SART


def test_a_long_mayday_over_two_sentences_is_assembled_with_its_station_and_time() -> None:
    text = "MAYDAY MAYDAY 45 PERSONS ON BOARD WOODEN BOAT SINKING 20NM S OF LOMBOK"
    lines = broadcast(SHIP_MMSI, text)
    assert len(lines) == 2
    lines = [tag_block("s:rBALI01,c:1700000000") + line for line in lines]
    [event], _ = decode_all(lines)
    assert isinstance(event, SafetyMessage)
    assert (event.text, event.kind, event.station) == (text, SafetyKind.MAYDAY, "rBALI01")
    assert event.event_time == datetime.fromtimestamp(1_700_000_000, UTC)


def test_a_safety_message_without_a_character_of_text_is_rejected_as_malformed() -> None:
    [line] = broadcast(SART_MMSI, "")
    [reject], _ = decode_all([line])
    assert reject.reason is RejectReason.MALFORMED and reject.msg_type == 14
    assert "needs 46" in reject.detail


class _File:
    name = "file://safety.nmea"

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    async def batches(self) -> AsyncIterator[LineBatch]:
        yield LineBatch([x.encode() for x in self.lines], RECEIVED)


async def test_ingest_publishes_safety_messages_on_ais_safety_keyed_by_mmsi() -> None:
    lines = [
        *broadcast(SART_MMSI, "SART ACTIVE"),
        TYPE_1,
        *addressed(MOB_MMSI, SHIP_MMSI, "MOB TEST"),
    ]
    bus = MemoryBus()
    stats = await run_ingest(_File(lines), bus, IngestSettings())
    assert stats.decoded_by_type[14] == 1 and stats.decoded_by_type[12] == 1
    assert not stats.rejected_by_reason
    async with bus.subscribe([Topic.AIS_SAFETY], group="reader") as sub:
        records = await sub.getmany(max_records=10, timeout_s=0.1)
    assert sorted((r.key, r.decode(SafetyMessage).kind) for r in records) == [
        (str(SART_MMSI), SafetyKind.SART_ACTIVE),
        (str(MOB_MMSI), SafetyKind.MOB_TEST),
    ]
    assert {r.attributes().type for r in records} == {"lookout.ais.safety.v1"}
    async with bus.subscribe([Topic.AIS_POSITIONS], group="reader") as sub:
        assert len(await sub.getmany(max_records=10, timeout_s=0.1)) == 1


def test_only_distress_kinds_call_for_a_rescue() -> None:
    assert {k for k in SafetyKind if k.is_distress} == {
        SafetyKind.SART_ACTIVE,
        SafetyKind.MOB,
        SafetyKind.MAYDAY,
    }
    assert {k for k in SafetyKind if k.is_test} == {SafetyKind.SART_TEST, SafetyKind.MOB_TEST}
