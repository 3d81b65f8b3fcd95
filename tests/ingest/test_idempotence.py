"""Idempotence end to end: an event's ``ce_id`` comes from what was received (so the same
reception published twice, or replayed, has the same id), and ``ais.static``, compacted
by MMSI, always holds a vessel's whole identity under its key, even though a class B
transponder sends it in two parts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from msgspec.structs import replace
from pyais.encode import encode_dict

from bus.memory import MemoryBus
from bus.table_reader import TableReader
from ingest.event_ids import EVENT_ID_NAMESPACE, EventIds, event_id
from ingest.identity import Type24Identities
from ingest.pipeline import run_ingest
from ingest.settings import IngestSettings
from ingest.sources.file import FileSource
from schemas.ais import StaticReport
from schemas.topics import Topic
from tests.ingest.support import decode_all
from tests.ingest.test_decoder import TYPE_1, TYPE_5, tag_block

PART_A = "!AIVDM,1,1,,A,H7lcR4Q<D61=0U8U@00000000000,0*5B"  # 525001234 "SEA SPIRIT"
PART_B = "!AIVDM,1,1,,A,H7lcR4TU0000000@;ijkl01@5230,0*3B"  # PK1234, type 37, 10/5/2/3 m


def sentence(data: dict[str, object]) -> str:
    return encode_dict(data, talker_id="AI", sentence_type="VDM")[0]


async def ids_of_a_replay(path: Path) -> list[str]:
    bus = MemoryBus()
    async with bus:
        await run_ingest(FileSource(path, name="file://capture"), bus, IngestSettings())
        async with bus.subscribe(
            [Topic.AIS_POSITIONS, Topic.AIS_STATIC, Topic.AIS_REJECTS], group="reader"
        ) as sub:
            records = await sub.getmany(max_records=1000, timeout_s=0.1)
    return sorted(dict(r.headers)["ce_id"].decode() for r in records)


async def test_replaying_a_capture_publishes_the_same_event_ids(tmp_path: Path) -> None:
    capture = tmp_path / "capture.nmea"
    lines = [
        tag_block("s:bali,c:1700000000") + TYPE_1,
        *(tag_block("c:1700000001") + part for part in TYPE_5),
        tag_block("c:1700000002") + TYPE_1[:-2] + "00",  # a reject has an id too
    ]
    capture.write_text("\n".join(lines) + "\n")
    first = await ids_of_a_replay(capture)
    assert len(first) == 3 == len(set(first))
    assert await ids_of_a_replay(capture) == first


def test_an_event_id_is_the_uuid5_of_source_raw_sentences_and_event_time() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    raw = [part.encode() for part in TYPE_5]
    name = "\n".join(["tcp://relay:5631", *TYPE_5, when.isoformat()])
    assert event_id("tcp://relay:5631", raw, when) == str(uuid.uuid5(EVENT_ID_NAMESPACE, name))
    assert event_id("tcp://other:5631", raw, when) != event_id("tcp://relay:5631", raw, when)
    ids = EventIds("tcp://relay:5631")
    for lines in ([raw[0]], raw):  # one sentence, and a multi-sentence message
        for kind in ("", "identity"):
            name = "\n".join(["tcp://relay:5631", *(r.decode() for r in lines), when.isoformat()])
            name += f"\n{kind}" if kind else ""
            assert ids.of(lines, when, kind) == str(uuid.uuid5(EVENT_ID_NAMESPACE, name))
    for second in range(200):  # every hex digit where the variant bits go, many times over
        at = when + timedelta(seconds=second)
        name = "\n".join(["tcp://relay:5631", TYPE_5[0], at.isoformat()])
        assert ids.of(raw[:1], at) == str(uuid.uuid5(EVENT_ID_NAMESPACE, name))


async def table_after_ingest(path: Path) -> dict[str, StaticReport]:
    """Replay a capture, then read ais.static as a table (last value per key)."""
    bus = MemoryBus()
    async with bus:
        await run_ingest(FileSource(path, name="file://identity"), bus, IngestSettings())
        reader = TableReader(bus, Topic.AIS_STATIC, StaticReport)
        await reader.start()
        try:
            return dict(reader.rows)
        finally:
            await reader.stop()


async def test_the_static_table_keeps_a_class_b_vessels_whole_identity_in_either_order(
    tmp_path: Path,
) -> None:
    other_a = sentence({"type": 24, "mmsi": 525009999, "partno": 0, "shipname": "LATE NAME"})
    other_b = sentence({"type": 24, "mmsi": 525009999, "partno": 1, "callsign": "PK9"})
    capture = tmp_path / "capture.nmea"
    capture.write_text("\n".join([PART_A, PART_B, other_b, other_a]) + "\n")
    rows = await table_after_ingest(capture)
    first, second = rows["525001234"], rows["525009999"]
    assert (first.name, first.callsign, first.ship_type) == ("SEA SPIRIT", "PK1234", 37)
    assert (first.to_bow_m, first.to_stern_m, first.to_port_m, first.to_starboard_m) == (
        10,
        5,
        2,
        3,
    )
    assert (second.name, second.callsign) == ("LATE NAME", "PK9")


def test_each_part_carries_what_the_other_last_said_and_a_new_name_replaces_the_old() -> None:
    renamed = sentence({"type": 24, "mmsi": 525001234, "partno": 0, "shipname": "NEW NAME"})
    events, _ = decode_all([PART_A, PART_B, renamed, PART_B])
    names = [(e.part, e.name, e.callsign) for e in events if isinstance(e, StaticReport)]
    assert names == [
        ("A", "SEA SPIRIT", None),
        ("B", "SEA SPIRIT", "PK1234"),
        ("A", "NEW NAME", "PK1234"),
        ("B", "NEW NAME", "PK1234"),
    ]


def test_the_identity_memory_is_bounded_least_recently_heard_first() -> None:
    memory = Type24Identities(max_vessels=2)
    events, _ = decode_all([PART_A])
    [part_a] = events
    assert isinstance(part_a, StaticReport)
    for mmsi in (1, 2, 3):
        memory.merged(replace(part_a, mmsi=mmsi))
    assert len(memory) == 2
    part_b = replace(part_a, part="B", name=None, callsign="X")
    assert memory.merged(replace(part_b, mmsi=1)).name is None  # forgotten
    assert memory.merged(replace(part_b, mmsi=3)).name == "SEA SPIRIT"
