"""The decoder: every line becomes a typed event or a reject with a reason."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import reduce
from operator import xor

import pytest

from ingest.decoder import AisDecoder, AisEvent
from schemas.ais import PositionReport, RejectReason, StaticReport
from schemas.vessel import MmsiKind
from tests.ingest.support import RECEIVED, decode_all, rejects, typed

TYPE_1 = "!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A"  # MMSI 371798000, gpsd sample
TYPE_5 = [
    "!AIVDM,2,1,1,A,55?MbV02;H;s<HtKR20EHE:0@T4@Dn2222222216L961O5Gf0NSQEp6ClRp8,0*1C",
    "!AIVDM,2,2,1,A,88888888880,2*25",
]
TYPE_5_OTHER = [  # another vessel's type 5, gpsd sample (sequence id 9, channel B)
    "!AIVDM,2,1,9,B,53nFBv01SJ<thHp6220H4heHTf2222222222221?50:454o<`9QSlUDp,0*09",
    "!AIVDM,2,2,9,B,888888888888880,2*2E",
]


def nmea_checksum(body: str) -> str:
    return f"{reduce(xor, body.encode(), 0):02X}"


def tag_block(fields: str) -> str:
    return f"\\{fields}*{nmea_checksum(fields)}\\"


def test_a_position_report_carries_its_fields_mmsi_flags_and_source() -> None:
    [event], _ = decode_all([TYPE_1], source="tcp://relay:5631")
    assert isinstance(event, PositionReport)
    assert (event.mmsi, event.msg_type, event.nav_status) == (371798000, 1, 0)
    assert event.lat == pytest.approx(48.381633, abs=1e-6)
    assert event.lon == pytest.approx(-123.395383, abs=1e-6)
    assert (event.speed_kn, event.course_deg, event.heading_deg) == (12.3, 224.0, 215)
    assert event.event_time == RECEIVED  # no tag block: the time of reception
    assert event.source == "tcp://relay:5631" and event.station is None
    assert event.mmsi_info.valid and event.mmsi_info.kind is MmsiKind.SHIP
    assert event.mmsi_info.country == "PA"


def test_tag_block_gives_event_time_and_station() -> None:
    line = tag_block("s:rORBCOMM000,c:1700000000") + TYPE_1
    [event], _ = decode_all([line])
    assert event.event_time == datetime.fromtimestamp(1_700_000_000, UTC)
    assert event.station == "rORBCOMM000"


def test_tag_block_time_in_milliseconds_is_understood() -> None:
    [event], _ = decode_all([tag_block("c:1700000000123") + TYPE_1])
    assert event.event_time == datetime.fromtimestamp(1_700_000_000.123, UTC)


@pytest.mark.parametrize(
    "column",
    ["2023-11-14T22:13:20Z ", "2023-11-14 22:13:20,", "1700000000.0 ", "1700000000;"],
)
def test_a_leading_timestamp_column_is_the_recorded_reception_time(column: str) -> None:
    [event], _ = decode_all([column + TYPE_1])
    assert isinstance(event, PositionReport)
    assert event.event_time == datetime.fromtimestamp(1_700_000_000, UTC)


def test_a_bad_tag_block_checksum_is_rejected() -> None:
    [reject], _ = decode_all(["\\s:x,c:1700000000*00\\" + TYPE_1])
    assert reject.reason is RejectReason.CHECKSUM and "tag block" in reject.detail


def test_a_wrong_sentence_checksum_is_rejected_with_the_raw_line() -> None:
    line = TYPE_1[:-2] + "00"
    [reject], _ = decode_all([line], source="udp://0.0.0.0:10110")
    assert reject.reason is RejectReason.CHECKSUM
    assert reject.raw == [line] and reject.source == "udp://0.0.0.0:10110"


def test_a_two_sentence_static_report_is_assembled() -> None:
    [event], decoder = decode_all(TYPE_5)
    assert isinstance(event, StaticReport) and event.msg_type == 5
    assert (event.mmsi, event.name, event.callsign, event.imo) == (
        351759000,
        "EVER DIADEM",
        "3FOF8",
        9134270,
    )
    assert (event.ship_type, event.to_bow_m, event.draught_m) == (70, 225, 12.2)
    assert event.destination == "NEW YORK"
    assert decoder.stats.lines_decoded == 2


def test_interleaved_fragments_of_two_messages_both_assemble() -> None:
    lines = [TYPE_5[0], TYPE_5_OTHER[0], TYPE_1, TYPE_5[1], TYPE_5_OTHER[1]]
    events, decoder = decode_all(lines)
    assert rejects(events) == []
    assert sorted(e.msg_type for e in typed(events)) == [1, 5, 5]
    assert decoder.stats.lines_decoded == 5


def test_a_lone_fragment_is_rejected_as_incomplete_with_its_line() -> None:
    [reject], decoder = decode_all([TYPE_5[0]])
    assert reject.reason is RejectReason.INCOMPLETE and reject.raw == [TYPE_5[0]]
    assert decoder.stats.lines_pending == 0


def test_fragments_separated_by_more_than_the_timeout_are_incomplete() -> None:
    first = tag_block("c:1700000000") + TYPE_5[0]
    second = tag_block("c:1700000060") + TYPE_5[1]
    events, _ = decode_all([first, second])
    assert [r.reason for r in rejects(events)] == [RejectReason.INCOMPLETE] * 2
    assert typed(events) == []


def test_a_stale_fragment_is_rejected_when_later_traffic_moves_the_clock_on() -> None:
    stale = tag_block("c:1700000000") + TYPE_5_OTHER[0]
    later = [tag_block("c:1700000060") + s for s in TYPE_5]
    decoder = AisDecoder("test")
    out: list[AisEvent] = []
    decoder.decode_lines([stale.encode(), *(x.encode() for x in later)], RECEIVED, out)
    # Before any flush at the end of input: the sweep itself rejected the stale fragment.
    [reject] = rejects(out)
    assert reject.reason is RejectReason.INCOMPLETE and reject.raw == [stale]
    assert [e.msg_type for e in typed(out)] == [5]
    assert decoder.stats.lines_pending == 0


def test_unsupported_types_are_rejected_and_counted() -> None:
    line = "!AIVDM,1,1,,A,@01uEO@mMk7P<P00,0*18"  # type 16, assigned mode command
    [reject], decoder = decode_all([line])
    assert reject.reason is RejectReason.UNSUPPORTED and reject.msg_type == 16
    assert decoder.stats.rejected_by_reason == {"unsupported": 1}


def test_an_out_of_range_value_is_rejected_with_the_validation_message() -> None:
    line = "!AIVDM,1,1,,B,4>O7m7Iu@<9qUfbtm`vSnwvH20S8,0*46"  # base station at latitude 109
    [reject], _ = decode_all([line])
    assert reject.reason is RejectReason.INVALID_VALUE
    assert "lat" in reject.detail and "109.33" in reject.detail


def test_a_placeholder_mmsi_is_flagged_not_dropped() -> None:
    aid_to_navigation = [  # type 21 from gpsd's sample, transmitted as MMSI 123456789
        "!AIVDM,2,1,5,B,E1mg=5J1T4W0h97aRh6ba84<h2d;W:Te=eLvH50```q,0*46",
        "!AIVDM,2,2,5,B,:D44QDlp0C1DU00,2*36",
    ]
    [event, identity], _ = decode_all(aid_to_navigation)
    assert isinstance(event, PositionReport) and event.mmsi == 123456789
    assert event.mmsi_info.placeholder and not event.mmsi_info.valid
    assert isinstance(identity, StaticReport) and identity.mmsi_info == event.mmsi_info


def test_blank_lines_and_comments_are_ignored_but_counted() -> None:
    events, decoder = decode_all(["", "# a comment", "   ", TYPE_1])
    assert len(events) == 1
    assert (decoder.stats.lines_read, decoder.stats.lines_ignored) == (4, 3)


def test_non_ais_nmea_sentences_are_unsupported() -> None:
    gga = "$GPGGA,092750.000,5321.6802,N,00630.3372,W,1,8,1.03,61.7,M,55.2,M,,*76"
    [reject], _ = decode_all([gga])
    assert reject.reason is RejectReason.UNSUPPORTED


def test_receiver_fields_after_the_checksum_are_ignored() -> None:
    [event], _ = decode_all([TYPE_1 + ",s36310,d-081,T59.01777335,x1,r08TPHI1,1242958962"])
    assert isinstance(event, PositionReport) and event.mmsi == 371798000


def test_a_reject_keeps_its_tag_blocks_station_and_time() -> None:
    line = tag_block("s:bali-east,c:1700000000") + TYPE_1[:-2] + "00"
    [reject], _ = decode_all([line])
    assert reject.reason is RejectReason.CHECKSUM
    assert reject.station == "bali-east"
    assert reject.recorded_at == datetime.fromtimestamp(1_700_000_000, UTC)
    assert reject.occurred_at() == reject.recorded_at  # its event time, as for reports


@pytest.mark.parametrize(
    "line",
    [
        "!AIVDM,1,1,,A,17ld=NOP?w<tSF0l4Q@>4?v1P000,0*3A",  # type 1, every field n/a
        "!AIVDM,1,1,,A,B7ld=N@3wk?8mP=18D3Q3wP00000,0*4B",  # type 18, every field n/a
    ],
)
def test_ais_not_available_values_are_published_as_none_not_repairs(line: str) -> None:
    """Latitude 91, longitude 181, speed 102.3, course 360, heading 511 mean "not
    available": ingest publishes None (the schema's ranges would refuse the numbers)."""
    [event], decoder = decode_all([line])
    assert isinstance(event, PositionReport)
    assert (event.lat, event.lon, event.speed_kn, event.course_deg, event.heading_deg) == (
        (None,) * 5
    )
    assert not event.has_position and event.repairs == ()
    assert not decoder.stats.repaired_by_field
