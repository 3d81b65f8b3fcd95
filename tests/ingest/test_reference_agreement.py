"""Our decode of gpsd's sample.aivdm agrees with gpsd's own (sample.aivdm.js.chk) on every
field we map, for every message both decoders decode.

Matching is by (MMSI, type) in order, not by line: gpsd emits one record per message and
decoders disagree on some binary types, so positions in the two lists drift. What is left
out of the comparison, and why:
- types we do not map (6-8, 10, 11, 13, 15-17, 20, 22, 23, 25, 26): they go to rejects as
  'unsupported'. That covers type 17, which gpsd reports in other units (minutes/10), and
  25/26, on which decoders disagree;
- type 24 parts gpsd never reports: gpsd emits a type 24 only once it holds both parts
  of one vessel, merged into one record; we publish each part as it comes;
- messages we reject by design while gpsd decodes them: a base station at latitude 109
  (out of range: 'invalid_value').
For type 27 the reference is gpsd's unscaled decode (sample.aivdm.ju.chk): its scaled JSON
prints type 27 positions with one decimal (87.1 for 87.065) and the status as text.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from typing import Any

from schemas.ais import PositionReport, RejectReason, StaticReport
from schemas.safety import SafetyKind, SafetyMessage
from tests.ingest.support import (
    GPSD_EXPECTED,
    GPSD_EXPECTED_UNSCALED,
    GPSD_SAMPLE,
    PYAIS_SAMPLE,
    decode_all,
    primary,
    rejects,
    typed,
)

# gpsd's "not available" values, which we publish as None.
_GPSD_NOT_AVAILABLE: dict[str, set[Any]] = {
    "lat": {91.0},
    "lon": {181.0},
    "speed": {102.3, 1023},
    "course": {360.0, 511},
    "heading": {511},
    "imo": {0},
    "shiptype": {0},
    "draught": {0.0},
    "alt": {4095},
}

_POSITION_FIELDS = {
    "lat": "lat",
    "lon": "lon",
    "speed": "speed_kn",
    "course": "course_deg",
    "heading": "heading_deg",
    "status": "nav_status",
    "alt": "altitude_m",
}
_STATIC_FIELDS = {
    "shipname": "name",
    "callsign": "callsign",
    "imo": "imo",
    "shiptype": "ship_type",
    "to_bow": "to_bow_m",
    "to_stern": "to_stern_m",
    "to_port": "to_port_m",
    "to_starboard": "to_starboard_m",
    "destination": "destination",
    "draught": "draught_m",
}

_IDENTITY_FIELDS = {  # of type 19 and type 21 (gpsd's type 21 "name" includes the extension)
    "shipname": "name",
    "name": "name",
    "shiptype": "ship_type",
    "aid_type": "aid_type",
    "virtual_aid": "virtual_aid",
    "to_bow": "to_bow_m",
    "to_stern": "to_stern_m",
    "to_port": "to_port_m",
    "to_starboard": "to_starboard_m",
}
_SAFETY_FIELDS = {"text": "text", "dest_mmsi": "dest_mmsi"}
_MAPPED = {1, 2, 3, 4, 5, 9, 12, 14, 18, 19, 21, 24, 27}


def _gpsd_value(field: str, value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("@", " ").strip() or None
    if value in _GPSD_NOT_AVAILABLE.get(field, ()):
        return None
    return value


def _same(expected: Any, ours: Any) -> bool:
    if isinstance(expected, float) or isinstance(ours, float):
        if expected is None or ours is None:
            return expected is ours
        return math.isclose(expected, ours, abs_tol=1e-6)  # gpsd prints six decimals
    return bool(expected == ours)


def _compare(
    expected: dict[str, Any], ours: PositionReport | StaticReport | SafetyMessage
) -> list[str]:
    if isinstance(ours, SafetyMessage):
        fields = _SAFETY_FIELDS
    elif isinstance(ours, StaticReport) and ours.msg_type in (19, 21):
        fields = _IDENTITY_FIELDS
    else:
        fields = _POSITION_FIELDS if isinstance(ours, PositionReport) else _STATIC_FIELDS
    problems = []
    for gpsd_field, our_field in fields.items():
        if gpsd_field not in expected:
            continue  # gpsd does not report it for this type
        mine = getattr(ours, our_field)
        if isinstance(ours, StaticReport) and ours.msg_type == 24 and mine is None:
            continue  # the other part of a type 24 carries it
        want = _gpsd_value(gpsd_field, expected[gpsd_field])
        if not _same(want, mine):
            problems.append(f"{our_field}: gpsd {want!r}, ours {mine!r}")
    return problems


def test_every_mapped_field_agrees_with_gpsd_on_messages_both_decode() -> None:
    expected_by_key: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for line in GPSD_EXPECTED.read_text().splitlines():
        record = json.loads(line)
        if record["type"] != 27:
            expected_by_key[(record["mmsi"], record["type"])].append(record)
    for line in GPSD_EXPECTED_UNSCALED.read_text().splitlines():
        record = json.loads(line)
        if record["type"] == 27:  # lat/lon in 1/10 minute, sentinels 91 and 181 degrees
            record["lat"], record["lon"] = record["lat"] / 600, record["lon"] / 600
            expected_by_key[(record["mmsi"], 27)].append(record)

    events, _ = decode_all(GPSD_SAMPLE.read_bytes().splitlines())
    used: dict[tuple[int, int], int] = defaultdict(int)
    compared: dict[int, int] = defaultdict(int)
    agreed: dict[int, int] = defaultdict(int)
    disagreements: list[str] = []
    not_in_reference: list[str] = []
    identities = 0
    for event in typed(events):
        key = (event.mmsi, event.msg_type)
        candidates = expected_by_key.get(key, [])
        if event.msg_type == 24:
            reference = candidates[0] if candidates else None  # one merged record per vessel
        elif isinstance(event, StaticReport) and event.msg_type in (19, 21):
            # the identity a type 19 or 21 carries: the record its position just used
            index = used[key] - 1
            reference = candidates[index] if 0 <= index < len(candidates) else None
        else:
            index = used[key]
            used[key] += 1
            reference = candidates[index] if index < len(candidates) else None
        if reference is None:
            not_in_reference.append(f"type {event.msg_type} mmsi {event.mmsi}")
            continue
        compared[event.msg_type] += 1
        identities += isinstance(event, StaticReport) and event.msg_type in (19, 21)
        problems = _compare(reference, event)
        if problems:
            disagreements.append(f"type {event.msg_type} mmsi {event.mmsi}: {problems}")
        else:
            agreed[event.msg_type] += 1

    assert identities == 3  # the identity of the one type 19 and the two type 21 compared
    print("\nagreement with gpsd per message type:")
    for msg_type in sorted(compared):
        print(f"  type {msg_type:2d}: {agreed[msg_type]}/{compared[msg_type]}")
    print(f"  only ours (type 24 parts gpsd never merged): {not_in_reference}")

    assert not disagreements, "\n".join(disagreements)
    # Every mapped type in the sample was compared, and only type 24 parts lack a reference.
    assert set(compared) == _MAPPED
    assert all(item.startswith("type 24 ") for item in not_in_reference)
    # Everything gpsd decoded of the types we map is one of ours, or a reject by design.
    ours = {(e.mmsi, e.msg_type) for e in typed(events)}
    by_design = {(r.msg_type, r.reason) for r in rejects(events) if r.msg_type is not None}
    missing = [k for k in expected_by_key if k[1] in _MAPPED and k not in ours]
    assert missing == [(972158237, 4)]  # latitude 109.33: out of range
    assert (4, RejectReason.INVALID_VALUE) in by_design


def test_every_line_of_a_live_capture_is_accounted_for() -> None:
    lines = PYAIS_SAMPLE.read_bytes().splitlines()
    events, decoder = decode_all(lines)
    stats = decoder.stats
    assert stats.lines_read == len(lines)
    assert stats.lines_pending == 0
    raw_in_rejects = sum(len(r.raw) for r in rejects(events))
    assert stats.lines_rejected == raw_in_rejects
    assert len(primary(events)) == sum(stats.decoded_by_type.values())
    assert stats.lines_ignored + stats.lines_decoded + raw_in_rejects == len(lines)
    print(f"\n{PYAIS_SAMPLE.name}: {dict(stats.decoded_by_type)} {dict(stats.rejected_by_reason)}")


def test_safety_messages_of_the_gpsd_sample_are_read_as_no_distress() -> None:
    """Ten real type 12/14 messages ("TEST", "RCVD YR TEST MSG", traffic chatter): none
    is a device or a MAYDAY, so none may read as distress or as a device test."""
    events, _ = decode_all(GPSD_SAMPLE.read_bytes().splitlines())
    safety = [e for e in events if isinstance(e, SafetyMessage)]
    assert len(safety) == 10
    assert {e.kind for e in safety} == {SafetyKind.OTHER}
