"""Event times must be plausible: a report stamped in year 9999, before 2000, or further
ahead of its reception than a receiver's clock drifts is rejected as ``invalid_value``,
never published (a future time would freeze a vessel's latest position in the store).
A replayed capture's past times are fine. A future-stamped fragment must not stop stale
fragments from timing out either."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from msgspec import ValidationError

from ingest.decoder import AisDecoder, AisEvent
from schemas.ais import PositionReport, RejectReason, StaticReport
from schemas.vessel import MmsiInfo, MmsiKind
from tests.ingest.support import rejects, typed
from tests.ingest.test_decoder import TYPE_1, TYPE_5, nmea_checksum, tag_block

RECEIVED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def first_fragment(seq_id: int) -> str:
    body = f"AIVDM,2,1,{seq_id},B,55P5TL01VIaAL@7WKO@mBplU@<PDhh000000001S;AJ::4A80?4i@E53,0"
    return f"!{body}*{nmea_checksum(body)}"


def tagged(sentence: str, unix_s: float | str, station: str = "a") -> str:
    return tag_block(f"s:{station},c:{unix_s}") + sentence


def decode(lines: list[str], received_at: datetime = RECEIVED, **kw: float) -> list[AisEvent]:
    decoder = AisDecoder("test", **kw)  # type: ignore[arg-type]
    out: list[AisEvent] = []
    decoder.decode_lines([x.encode() for x in lines], received_at, out)
    decoder.flush(received_at, out)
    assert decoder.stats.lines_pending == 0
    return out


@pytest.mark.parametrize(
    "line",
    [
        tagged(TYPE_1, 253402300000000),  # ms: 9999-12-31
        "9999-12-31T23:59:59Z " + TYPE_1,  # a timestamp column
    ],
)
def test_a_report_stamped_in_year_9999_is_invalid_value(line: str) -> None:
    [reject] = decode([line])
    assert not isinstance(reject, PositionReport)
    assert reject.reason is RejectReason.INVALID_VALUE
    assert "9999-12-31" in reject.detail


def test_a_replayed_report_stamped_before_2000_is_invalid_value_too() -> None:
    [reject] = decode([tagged(TYPE_1, 0)])  # 1970: only past, but no AIS data is that old
    assert not isinstance(reject, PositionReport)
    assert reject.reason is RejectReason.INVALID_VALUE
    assert "implausible" in reject.detail


def test_a_report_further_ahead_of_reception_than_the_tolerance_is_refused() -> None:
    ahead = RECEIVED + timedelta(seconds=301)
    [reject] = decode([tagged(TYPE_1, ahead.timestamp())], max_clock_ahead_s=300)
    assert not isinstance(reject, PositionReport)
    assert reject.reason is RejectReason.INVALID_VALUE
    assert ahead.isoformat() in reject.detail and RECEIVED.isoformat() in reject.detail


def test_a_future_dated_static_report_is_refused_as_well() -> None:
    ahead = (RECEIVED + timedelta(days=400)).timestamp()
    events = decode([tagged(TYPE_5[0], ahead), tagged(TYPE_5[1], ahead)])
    assert not typed(events)
    assert [r.reason for r in rejects(events)] == [RejectReason.INVALID_VALUE]
    assert len(rejects(events)[0].raw) == 2


def test_small_clock_drift_ahead_and_any_past_time_are_accepted() -> None:
    drift = RECEIVED + timedelta(seconds=299)
    old = datetime(2012, 5, 1, tzinfo=UTC)
    events = decode(
        [tagged(TYPE_1, drift.timestamp()), tagged(TYPE_1, old.timestamp())],
        max_clock_ahead_s=300,
    )
    assert [e.event_time for e in typed(events)] == [drift, old]


def test_the_static_report_schema_bounds_event_time() -> None:
    info = MmsiInfo(valid=True, kind=MmsiKind.SHIP, mid=525, country="ID")
    fields = dict(mmsi=525_012_345, msg_type=5, source="s", mmsi_info=info)
    StaticReport.validated({"event_time": datetime(2099, 12, 31, tzinfo=UTC), **fields})
    with pytest.raises(ValidationError, match="implausible"):
        StaticReport.validated({"event_time": datetime(2100, 1, 1, tzinfo=UTC), **fields})


def test_one_station_a_year_ahead_does_not_stop_stale_fragments_expiring() -> None:
    # An hour of traffic: a lone first fragment every minute that never completes, and
    # one station with a clock a year ahead among them.
    t0 = RECEIVED.timestamp() - 3600
    lines = [tagged(TYPE_1, t0), tagged(first_fragment(3), t0 + 86400 * 365, station="badclock")]
    for minute in range(60):
        lines.append(tagged(first_fragment(minute % 10), t0 + 60 * minute, station=f"st{minute}"))
        lines.append(tagged(TYPE_1, t0 + 60 * minute + 30))
    decoder = AisDecoder("test", fragment_timeout_s=10)
    out: list[AisEvent] = []
    decoder.decode_lines([x.encode() for x in lines], RECEIVED, out)
    incomplete = [r for r in rejects(out) if r.reason is RejectReason.INCOMPLETE]
    assert len(incomplete) >= 59  # every fragment but the newest has timed out
    assert len(decoder._assembler) <= 2


def test_an_over_long_line_is_malformed_and_only_its_first_bytes_are_kept() -> None:
    line = TYPE_1 + "X" * 5000
    [reject] = decode([line, TYPE_1], max_line_bytes=1024)[:1]
    assert reject.reason is RejectReason.MALFORMED
    assert "longer than 1024 bytes" in reject.detail
    assert "first 1024 bytes" in reject.detail
    assert reject.raw == [line[:1024]]
