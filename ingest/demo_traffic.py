"""Traffic only the demo of ``lookout up`` adds to the generated scenario, so the alerts table
shows every detector: a fishing boat working inside the demo's Nusa Penida marine protected
area (enter, then the kind's 2 h dwell of fishing vessels) and an AIS-SART transmitting
south of Bali (distress). The scenario leaves both out: its ground truth is built around
fusion's thresholds on open sea, these around the demo's zones near Bali.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import pyais

from ingest.scenario import NM_DEG, tagged

FISHER_MMSI = 525_010_030
"""A fishing vessel (ship type 30) of the demo."""
SART_MMSI = 970_010_001
"""An AIS-SART (ITU-R M.585: 970xxyyyy); fusion calls any position from one distress."""

_STEP_S = 120.0
_SART_STEP_S = 60.0
_TIME = re.compile(rb"c:(\d+)")


@dataclass(frozen=True)
class Leg:
    seconds: float
    speed_kn: float
    course_deg: float


FISHER_START = (-8.75, 115.37)
"""West of the marine protected area (115.40-115.65 E, -8.85 to -8.65), at sea."""
FISHER_LEGS = (Leg(20 * 60, 6.0, 90.0), Leg(2.5 * 3600, 1.0, 90.0), Leg(1.5 * 3600, 6.0, 180.0))
"""In at 6 kn, working at 1 kn for longer than the 2 h dwell, out to the south (9 nm: past
the south edge and the hysteresis, so the enter and dwell alerts close)."""
SART_AT = (-9.2, 115.3)
"""23 nm south of Bali."""
SART_S = 30 * 60


def _position(
    mmsi: int, lat: float, lon: float, speed_kn: float, course: float, status: int
) -> list[str]:
    return pyais.encode_dict(
        {
            "type": 1,
            "mmsi": mmsi,
            "lat": round(lat, 5),
            "lon": round(lon, 5),
            "speed": round(speed_kn, 1),
            "course": round(course % 360, 1),
            "heading": int(course % 360),
            "status": status,
        },
        talker_id="AI",
        sentence_type="VDM",
    )


def fisher_lines(start_t: float) -> list[tuple[float, list[str]]]:
    """The fishing boat's reports from ``start_t`` (UNIX seconds): a name and ship type first."""
    static = pyais.encode_dict(
        {"type": 5, "mmsi": FISHER_MMSI, "shipname": "KM BINTANG LAUT", "ship_type": 30},
        talker_id="AI",
        sentence_type="VDM",
        seq_id=7,
    )
    out: list[tuple[float, list[str]]] = [(start_t, static)]
    lat, lon = FISHER_START
    t = start_t
    for leg in FISHER_LEGS:
        end = t + leg.seconds
        while t < end:
            out.append((t, _position(FISHER_MMSI, lat, lon, leg.speed_kn, leg.course_deg, 7)))
            step_deg = leg.speed_kn * _STEP_S / 3600 * NM_DEG
            lat += step_deg * math.cos(math.radians(leg.course_deg))
            lon += step_deg * math.sin(math.radians(leg.course_deg)) / math.cos(math.radians(lat))
            t += _STEP_S
    return out


def sart_lines(start_t: float) -> list[tuple[float, list[str]]]:
    """An AIS-SART's bursts, once a minute for half an hour, nav status 14 (SART active)."""
    lat, lon = SART_AT
    count = int(SART_S / _SART_STEP_S)
    return [
        (start_t + i * _SART_STEP_S, _position(SART_MMSI, lat, lon, 0.0, 0.0, 14))
        for i in range(count)
    ]


def with_demo_traffic(lines: list[bytes], end_t: float, station: str = "rx-bali") -> list[bytes]:
    """The scenario's tag-blocked ``lines`` with the demo's traffic of the last hours before
    ``end_t`` merged in by reception time (a stable sort: the fragments of one message stay
    together, each group after the scenario's lines of the same second)."""
    added = [
        tagged(sentence, t, station)
        for t, sentences in [*fisher_lines(end_t - 5 * 3600), *sart_lines(end_t - 45 * 60)]
        for sentence in sentences
    ]
    merged = [*lines, *added]

    def received(line: bytes) -> int:
        found = _TIME.search(line)
        return int(found.group(1)) if found else 0

    return sorted(merged, key=received)
