"""Every field as the vessel sent it (issue 13): ship types pyais's enum lacks, a position
kept when one optional field is out of range, rate of turn unrounded, the identity that
types 19 and 21 carry, and rejects that keep their tag block.

The regression sentences were made with ``tests/ingest/nmea_build.py`` (pyais's encoder,
then the raw field written into the payload's bits: the encoder itself collapses ship type
9 to 0 and 66 to 65); their checksums are correct, so each is decoded as sent."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from bus.memory import MemoryBus
from ingest.pipeline import run_ingest
from ingest.settings import IngestSettings
from ingest.sources.file import FileSource
from schemas.ais import PositionReport, RejectReason, StaticReport
from tests.ingest.nmea_build import sentences
from tests.ingest.support import GPSD_EXPECTED_UNSCALED, GPSD_SAMPLE, decode_all, typed

TYPE_5_WITH_SHIP_TYPE = {  # MMSI 525001234 "KM BAHARI", ship type written in bits 232-239
    9: [
        "!AIVDM,2,1,1,A,57lcR4P2;=`1T;7;?@0dn084P58T00000000000900000000000000000000,0*50",
        "!AIVDM,2,2,1,A,00000000000,2*25",
    ],
    38: [
        "!AIVDM,2,1,1,A,57lcR4P2;=`1T;7;?@0dn084P58T00000000000V00000000000000000000,0*3F",
        "!AIVDM,2,2,1,A,00000000000,2*25",
    ],
    66: [
        "!AIVDM,2,1,1,A,57lcR4P2;=`1T;7;?@0dn084P58T00000000001200000000000000000000,0*5A",
        "!AIVDM,2,2,1,A,00000000000,2*25",
    ],
    77: [
        "!AIVDM,2,1,1,A,57lcR4P2;=`1T;7;?@0dn084P58T00000000001=00000000000000000000,0*55",
        "!AIVDM,2,2,1,A,00000000000,2*25",
    ],
}
TYPE_18_HEADING_480 = "!AIVDM,1,1,,A,B7lcR4P0=j3mP0Nj;R0pCh000000,0*15"
TYPE_19_SHIP_TYPE_38 = "!AIVDM,1,1,,A,C7lcR4P0=j3mP0Nj;R0p@eP0P:T2@b00000000000000C0L1PQ00,0*5B"
TYPE_1_LATITUDE_95 = "!AIVDM,1,1,,A,17lcR4gP0o8?F00nG0@3Q2n1P000,0*56"
TYPE_1_COURSE_370 = "!AIVDM,1,1,,A,17lcR4gP0o8?F01s8f8>M2n1P000,0*0A"
TYPE_1_ROT_AIS = {  # raw ROT_AIS -> sentence (MMSI 525001234)
    1: "!AIVDM,1,1,,A,17lcR4g0@o8?F01s8f83Q2n1P000,0*0B",
    5: "!AIVDM,1,1,,A,17lcR4g1@o8?F01s8f83Q2n1P000,0*0A",
    -3: "!AIVDM,1,1,,A,17lcR4gw@o8?F01s8f83Q2n1P000,0*4C",
    20: "!AIVDM,1,1,,A,17lcR4g50o8?F01s8f83Q2n1P000,0*7E",
    -60: "!AIVDM,1,1,,A,17lcR4gi0o8?F01s8f83Q2n1P000,0*22",
    126: "!AIVDM,1,1,,A,17lcR4gOPo8?F01s8f83Q2n1P000,0*64",
}


def gpsd_turn(rot_ais: int) -> float | None:
    """gpsd's rate of turn of a raw ROT_AIS (its json_ais: (turn / 4.733)^2, signed here;
    -128 not available, +-127 a direction without a rate)."""
    if rot_ais == -128 or abs(rot_ais) == 127:
        return None
    return math.copysign((rot_ais / 4.733) ** 2, rot_ais)


@pytest.mark.parametrize("code", sorted(TYPE_5_WITH_SHIP_TYPE))
def test_type_5_publishes_the_ship_type_code_as_sent(code: int) -> None:
    [event], _ = decode_all(TYPE_5_WITH_SHIP_TYPE[code])
    assert isinstance(event, StaticReport) and event.name == "KM BAHARI"
    assert event.ship_type == code


def test_type_19_publishes_its_identity_with_the_ship_type_as_sent() -> None:
    [position, identity], _ = decode_all([TYPE_19_SHIP_TYPE_38])
    assert isinstance(position, PositionReport) and position.heading_deg == 91
    assert isinstance(identity, StaticReport) and identity.msg_type == 19
    assert (identity.name, identity.ship_type) == ("PERAHU", 38)
    assert (identity.to_bow_m, identity.to_stern_m, identity.to_port_m) == (7, 3, 1)
    assert identity.to_starboard_m == 2 and identity.event_time == position.event_time


def test_type_21_publishes_an_aid_to_navigation_identity_with_its_name_extension() -> None:
    lines = GPSD_SAMPLE.read_bytes().splitlines()
    events, _ = decode_all(lines)
    aton = {e.mmsi: e for e in typed(events) if isinstance(e, StaticReport) and e.msg_type == 21}
    assert aton[123456789].name == "CHINA ROSE MURPHY EXPRESS ALERT"  # 20 + extension
    assert (aton[123456789].aid_type, aton[123456789].virtual_aid) == (20, False)
    assert aton[4000003].name == "IBC G BUOY"  # text ends at its first '@'
    assert aton[4000003].aid_type == 30 and aton[4000003].to_bow_m == 2


async def test_an_out_of_range_heading_is_repaired_the_position_kept_and_the_repair_counted(
    tmp_path: Path,
) -> None:
    capture = tmp_path / "heading.nmea"
    capture.write_text(TYPE_18_HEADING_480 + "\n" + TYPE_1_COURSE_370 + "\n")
    source = f"file://repairs-{tmp_path.name}"
    bus = MemoryBus()
    async with bus:
        stats = await run_ingest(FileSource(capture, name=source), bus, IngestSettings())
        async with bus.subscribe(["ais.positions"], group="reader") as sub:
            records = await sub.getmany(max_records=10, timeout_s=0.1)
    heading, course = (r.decode(PositionReport) for r in records)
    assert (heading.lat, heading.lon, heading.speed_kn) == (-8.5, 115.2, 5.5)
    assert heading.heading_deg is None and heading.course_deg == 90.0
    assert heading.repairs == (
        "heading_deg: 480 is out of range (0-359, 511 not available); published as None",
    )
    assert course.course_deg is None and course.heading_deg == 91
    assert course.repairs[0].startswith("course_deg: 370.0 is out of range")
    assert stats.repaired_by_field == {"heading_deg": 1, "course_deg": 1}
    metric = "lookout_ingest_repaired_total"
    assert REGISTRY.get_sample_value(metric, {"source": source, "field": "heading_deg"}) == 1


def test_an_impossible_position_still_rejects_the_report() -> None:
    [reject], _ = decode_all([TYPE_1_LATITUDE_95])
    assert reject.reason is RejectReason.INVALID_VALUE and "lat" in reject.detail


@pytest.mark.parametrize("rot_ais", sorted(TYPE_1_ROT_AIS))
def test_rate_of_turn_is_the_raw_rot_unrounded(rot_ais: int) -> None:
    [event], _ = decode_all([TYPE_1_ROT_AIS[rot_ais]])
    assert isinstance(event, PositionReport)
    assert event.turn_rate_deg_min == pytest.approx(gpsd_turn(rot_ais), abs=0.01)


def test_rate_of_turn_agrees_with_gpsd_on_its_sample() -> None:
    """gpsd's unscaled decode gives the raw ROT_AIS of every type 1-3 report."""
    raw_by_key: dict[tuple[int, int], list[int]] = defaultdict(list)
    for line in GPSD_EXPECTED_UNSCALED.read_text().splitlines():
        record = json.loads(line)
        if record["type"] in (1, 2, 3):
            raw_by_key[(record["mmsi"], record["type"])].append(record["turn"])
    events, _ = decode_all(GPSD_SAMPLE.read_bytes().splitlines())
    compared = 0
    for event in typed(events):
        if isinstance(event, PositionReport) and event.msg_type in (1, 2, 3):
            rot_ais = raw_by_key[(event.mmsi, event.msg_type)].pop(0)
            assert event.turn_rate_deg_min == pytest.approx(gpsd_turn(rot_ais), abs=0.01)
            compared += 1
    assert compared == 6


def test_the_builder_writes_raw_fields_as_asked() -> None:
    """The regression sentences above come from here; the builder is checked too."""
    data = {"type": 5, "mmsi": 525001234, "shipname": "KM BAHARI", "callsign": "YB1234"}
    built = sentences({**data, "imo": 9123456, "ship_type": 30}, ship_type=(232, 8, 77))
    assert built == TYPE_5_WITH_SHIP_TYPE[77]
