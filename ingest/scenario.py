"""Generated AIS traffic with known behaviours, as tag-blocked NMEA, and the alerts it must
raise: the ground truth of the fusion tests, the benchmark and the demo.

Vessels sail south of Java, far (> 100 nm) from shore, each doing one behaviour or a
near miss just under its threshold, among normal traffic that must stay silent: steady
transits, vessels at anchor with GPS noise, slow ships in a separation scheme, a receiver
outage that silences every vessel one station hears at once, ferries passing close at
speed, and a fishing fleet working together above the rendezvous speed. All durations are
multiples of the thresholds given (``ScenarioThresholds``), so tests run the same scenario
in seconds with thresholds scaled down.

A rendezvous pair stays slow far from shore for longer than the loitering minimum too, so
each of its vessels also loiters (expected: GFW's loitering and encounter events overlap
the same way); the near miss in time (0.92 of the minimum, 1 h 50 min of 2 h) raises
nothing at all.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ingest.ais_encode import encode_dict
from schemas.alerts import AlertRule
from schemas.config import Geofence, PolygonGeometry, WatchlistEntry, ZoneKind, default_rules

METRES_PER_DEGREE = 111_195.0

ORIGIN_LAT, ORIGIN_LON = -11.5, 113.5
"""Open sea south of Java, > 150 nm from land."""
NM_DEG = 1 / 60


@dataclass(frozen=True)
class ScenarioThresholds:
    """The detector thresholds the scenario is built around (fusion's settings)."""

    gap_s: float = 12 * 3600.0
    loiter_min_s: float = 2 * 3600.0
    loiter_max_speed_kn: float = 2.0
    spoof_max_speed_kn: float = 50.0
    rendezvous_min_s: float = 2 * 3600.0
    rendezvous_distance_m: float = 500.0
    step_s: float = 60.0
    """Reporting interval of every vessel."""


@dataclass(frozen=True)
class ExpectedAlert:
    rule: AlertRule
    mmsi: int
    what: str
    closed: bool = False


@dataclass
class Scenario:
    start: datetime
    end: datetime
    lines: list[bytes]
    expected: list[ExpectedAlert]
    near_misses: dict[int, str]
    zones: list[Geofence]
    watchlist: list[WatchlistEntry]
    names: dict[int, str] = field(default_factory=dict)
    pair_misses: dict[int, str] = field(default_factory=dict)
    """Vessels that must raise no rendezvous (they may loiter: slow long enough)."""
    hard_normal: dict[int, str] = field(default_factory=dict)
    """Normal traffic that looks like a behaviour (MMSI -> what it does): must stay silent."""


def _checksum(body: str) -> str:
    value = 0
    for char in body.encode():
        value ^= char
    return f"{value:02X}"


def tagged(sentence: str, t: float, station: str) -> bytes:
    block = f"s:{station},c:{int(t)}"
    return f"\\{block}*{_checksum(block)}\\{sentence}".encode()


@dataclass
class Vessel:
    mmsi: int
    name: str
    lat: float
    lon: float
    speed_kn: float
    course_deg: float
    ship_type: int = 70
    station: str = "rx-a"
    silent: list[tuple[float, float]] = field(default_factory=list)
    """(from, to) seconds after the start when the vessel does not transmit."""
    legs: list[tuple[float, float, float]] = field(default_factory=list)
    """(from second, speed kn, course deg): changes of speed and course."""
    jumps: list[tuple[float, float, float]] = field(default_factory=list)
    """(at second, dlat, dlon): the reported position jumps by this much (spoofing)."""
    renames: list[tuple[float, str]] = field(default_factory=list)
    status: int = 0
    """ITU-R M.1371 navigational status it reports (1: at anchor)."""
    jitter_m: float = 0.0
    """GPS noise: each reported position is off by up to this, metres."""
    speed_jitter_kn: float = 0.0
    """Noise of the reported speed over ground, up to this, kn (never below 0)."""

    def heard(self, s: float) -> bool:
        return not any(a <= s < b for a, b in self.silent)


def _move(v: Vessel, dt: float) -> None:
    distance_deg = v.speed_kn * dt / 3600 * NM_DEG
    v.lat += distance_deg * math.cos(math.radians(v.course_deg))
    v.lon += distance_deg * math.sin(math.radians(v.course_deg)) / math.cos(math.radians(v.lat))


def _position(v: Vessel, lat: float, lon: float) -> list[str]:
    return encode_dict(
        {
            "type": 1,
            "mmsi": v.mmsi,
            "lat": round(lat, 5),
            "lon": round(lon, 5),
            "speed": round(v.speed_kn, 1),
            "course": round(v.course_deg % 360, 1),
            "heading": int(v.course_deg % 360),
            "status": v.status,
        },
        talker_id="AI",
        sentence_type="VDM",
    )


def _noisy(v: Vessel, lat: float, lon: float, rng: random.Random) -> list[str]:
    """A position report with the vessel's GPS and speed noise (seeded per vessel, so the
    scenario is the same every time)."""
    if not v.jitter_m and not v.speed_jitter_kn:
        return _position(v, lat, lon)
    metres, bearing = rng.uniform(0, v.jitter_m), rng.uniform(0, 2 * math.pi)
    dlat = metres * math.cos(bearing) / 1852 * NM_DEG
    dlon = metres * math.sin(bearing) / 1852 * NM_DEG / math.cos(math.radians(lat))
    speed = v.speed_kn
    v.speed_kn = max(0.0, speed + rng.uniform(-v.speed_jitter_kn, v.speed_jitter_kn))
    try:
        return _position(v, lat + dlat, lon + dlon)
    finally:
        v.speed_kn = speed


def anchored_fleet(start: datetime, th: ScenarioThresholds) -> tuple[Geofence, list[Vessel]]:
    """Hard normal traffic: vessels at anchor in an anchorage, reporting nav status 1 with
    GPS noise of a few tens of metres and speeds of 0-0.2 kn, one of them silent for longer
    than a gap (anchored ships often switch to low power). An anchorage counts as port: no
    loitering, no gap, and the noise is no jump and no flapping."""
    lat, lon = ORIGIN_LAT - 0.1, ORIGIN_LON - 0.3  # west of every lane (they sail east)
    anchorage = Geofence(
        geofence_id="scenario-anchorage",
        name="Scenario anchorage",
        kind=ZoneKind.ANCHORAGE,
        geometry=_box(lat, lon, 0.03),
        rules=default_rules(ZoneKind.ANCHORAGE),
        updated_at=start,
    )
    fleet = []
    for i in range(3):
        v = Vessel(
            525_110_001 + i,
            f"AT ANCHOR {i + 1}",
            lat - 0.015 + 0.01 * i,
            lon - 0.01 + 0.005 * i,
            speed_kn=0.0,  # swinging round the anchor, going nowhere: the noise says 0-0.2
            course_deg=0.0,
            status=1,
            jitter_m=30.0,
            speed_jitter_kn=0.2,
            station="rx-a",
        )
        fleet.append(v)
    fleet[-1].silent = [(th.gap_s * 0.2, th.gap_s * 1.8)]
    return anchorage, fleet


def separation_scheme(lat: float) -> list[Vessel]:
    """Hard normal traffic: slow ships in the two lanes of a traffic separation scheme,
    about 450 m apart, at 2.3-3.5 kn with speed-over-ground noise that dips below the
    loitering speed now and then, passing each other close (slow, but never both below
    the encounter speed for long)."""
    fleet = []
    for i in range(2):
        east = Vessel(
            525_120_001 + i,
            f"LANE EAST {i + 1}",
            lat,
            ORIGIN_LON + 0.01 * i,
            speed_kn=2.3 + 0.6 * i,
            course_deg=90.0,
            speed_jitter_kn=0.4,
            jitter_m=10.0,
            station="rx-b",
        )
        west = Vessel(
            525_120_101 + i,
            f"LANE WEST {i + 1}",
            lat - 0.004,
            ORIGIN_LON + 0.03 + 0.01 * i,
            speed_kn=2.4 + 0.5 * i,
            course_deg=270.0,
            speed_jitter_kn=0.4,
            jitter_m=10.0,
            station="rx-b",
        )
        fleet += [east, west]
    return fleet


def _static(v: Vessel, name: str, seq: int) -> list[str]:
    return encode_dict(
        {
            "type": 5,
            "mmsi": v.mmsi,
            "shipname": name,
            "callsign": f"YB{v.mmsi % 10000:04d}",
            "imo": 9_000_000 + v.mmsi % 1_000_000,
            "ship_type": v.ship_type,
            "ais_version": 0,
        },
        talker_id="AI",
        sentence_type="VDM",
        seq_id=seq % 10,
    )


def _box(lat: float, lon: float, half_deg: float) -> PolygonGeometry:
    ring = [
        [lon - half_deg, lat - half_deg],
        [lon + half_deg, lat - half_deg],
        [lon + half_deg, lat + half_deg],
        [lon - half_deg, lat + half_deg],
        [lon - half_deg, lat - half_deg],
    ]
    return PolygonGeometry(type="Polygon", coordinates=[ring])


def scenario_duration_s(thresholds: ScenarioThresholds) -> float:
    """How long a scenario built around these thresholds lasts, seconds."""
    th = thresholds
    return max(th.gap_s * 2.5, th.loiter_min_s * 2.5) + 20 * th.step_s


def build_scenario(
    start: datetime | None = None,
    thresholds: ScenarioThresholds | None = None,
    *,
    normal_vessels: int = 12,
) -> Scenario:
    th = thresholds or ScenarioThresholds()
    start = start or datetime(2026, 1, 5, tzinfo=UTC)
    t0 = start.timestamp()
    step = th.step_s
    duration = scenario_duration_s(th)
    lane = 0

    def vessel(
        mmsi: int, name: str, speed: float = 10.0, course: float = 90.0, **kw: object
    ) -> Vessel:
        nonlocal lane
        lane += 1
        return Vessel(mmsi, name, ORIGIN_LAT - 0.05 * lane, ORIGIN_LON, speed, course, **kw)  # type: ignore[arg-type]

    fleet: list[Vessel] = []
    expected: list[ExpectedAlert] = []
    near: dict[int, str] = {}
    # Normal traffic: steady transits heard by two stations.
    for i in range(normal_vessels):
        fleet.append(
            vessel(
                525_100_001 + i,
                f"TRANSIT {i + 1}",
                speed=9 + i % 4,
                station="rx-a" if i % 2 else "rx-b",
            )
        )
    # Receiver outage: every vessel station rx-c hears falls silent at once, longer than a gap.
    outage = (th.gap_s * 0.3, th.gap_s * 1.6)
    hard_normal: dict[int, str] = {}
    for i in range(5):
        fleet.append(vessel(525_200_001 + i, f"COVERAGE {i + 1}", station="rx-c", silent=[outage]))
        hard_normal[fleet[-1].mmsi] = "silenced by a receiver outage"
    # At anchor with GPS noise, and slow ships in a separation scheme: silent too.
    anchorage, anchored = anchored_fleet(start, th)
    lane += 2
    scheme = separation_scheme(ORIGIN_LAT - 0.05 * lane)
    hard_normal |= {v.mmsi: "at anchor with GPS noise" for v in anchored}
    hard_normal |= {v.mmsi: "slow in a separation scheme" for v in scheme}
    fleet += anchored + scheme

    # Geofence: a restricted box on the lane of one vessel; a near miss passes just outside.
    zone_lat = ORIGIN_LAT - 0.05 * (lane + 1)
    travel_deg = 10.0 * duration / 3600 * NM_DEG
    zone_lon = ORIGIN_LON + travel_deg * 0.4
    zone = Geofence(
        geofence_id="scenario-restricted",
        name="Scenario restricted area",
        kind=ZoneKind.RESTRICTED,
        geometry=_box(zone_lat, zone_lon, 0.02),
        rules=default_rules(ZoneKind.RESTRICTED),
        updated_at=start,
    )
    fleet.append(vessel(525_300_001, "INTRUDER"))
    expected.append(
        ExpectedAlert(AlertRule.GEOFENCE_ENTER, 525_300_001, zone.geofence_id, closed=True)
    )
    expected.append(ExpectedAlert(AlertRule.GEOFENCE_EXIT, 525_300_001, zone.geofence_id))
    miss = vessel(525_300_002, "PASSER BY")
    miss.lat = zone_lat + 0.02 + 0.01  # ~1.1 km north of the box
    fleet.append(miss)
    near[miss.mmsi] = "passes 1 km outside the restricted area"

    # Watchlist: one by MMSI, one by a fuzzy name; a near miss with a different name.
    watch = [
        WatchlistEntry(
            entry_id="wl-mmsi",
            mmsi=525_400_001,
            reason="suspected people smuggling",
            provenance="scenario",
            updated_at=start,
        ),
        WatchlistEntry(
            entry_id="wl-name",
            name="SINAR JAYA",
            reason="unlicensed fishing",
            provenance="scenario",
            updated_at=start,
        ),
    ]
    fleet.append(vessel(525_400_001, "HARMLESS NAME"))
    expected.append(ExpectedAlert(AlertRule.WATCHLIST, 525_400_001, "wl-mmsi"))
    fleet.append(vessel(525_400_002, "KM SINAR-JAYA", ship_type=30))
    expected.append(ExpectedAlert(AlertRule.WATCHLIST, 525_400_002, "wl-name"))
    fleet.append(vessel(525_400_003, "SINAR BARU", ship_type=30))
    near[525_400_003] = "a name close to a watchlist name, below the score"

    # Gap: silent 1.5 x the threshold; near miss silent 0.85 x.
    fleet.append(vessel(525_500_001, "DARK ONE", silent=[(th.gap_s * 0.2, th.gap_s * 1.7)]))
    expected.append(ExpectedAlert(AlertRule.AIS_GAP, 525_500_001, "gap", closed=True))
    fleet.append(vessel(525_500_002, "BRIEF SILENCE", silent=[(th.gap_s * 0.2, th.gap_s * 1.05)]))
    near[525_500_002] = "silent for 0.85 of the gap threshold"

    # Loitering: slow for 1.3 x the minimum, then away; near miss slow for 0.85 x.
    slow = th.loiter_max_speed_kn * 0.5
    v = vessel(525_600_001, "LOITERER", speed=10.0)
    v.legs = [(step * 5, slow, 45.0), (step * 5 + th.loiter_min_s * 1.3, 10.0, 90.0)]
    fleet.append(v)
    expected.append(ExpectedAlert(AlertRule.LOITERING, 525_600_001, "loitering", closed=True))
    v = vessel(525_600_002, "SHORT STOP", speed=10.0)
    v.legs = [(step * 5, slow, 45.0), (step * 5 + th.loiter_min_s * 0.85, 10.0, 90.0)]
    fleet.append(v)
    near[525_600_002] = "slow for 0.85 of the loitering minimum"

    # Spoofing: a 10 nm jump between two fixes; near miss: after a short silence, a
    # displacement implying 0.9 of the speed bound.
    fleet.append(vessel(525_700_001, "JUMPER", jumps=[(duration * 0.5, 0.0, 10 * NM_DEG)]))
    expected.append(ExpectedAlert(AlertRule.SPOOFING, 525_700_001, "impossible_jump"))
    quiet_from = round(duration * 0.5 / step) * step
    quiet_s = 30 * step
    fast = vessel(525_700_002, "FAST CRAFT", silent=[(quiet_from, quiet_from + quiet_s)])
    extra_nm = (th.spoof_max_speed_kn * 0.9 - fast.speed_kn) * (quiet_s + step) / 3600
    fast.jumps = [(quiet_from + quiet_s, 0.0, extra_nm * NM_DEG / math.cos(math.radians(fast.lat)))]
    fleet.append(fast)
    near[525_700_002] = "reappears after a short silence at 0.9 of the speed bound"

    # Identity: a vessel renames itself; a near miss repeats its own name.
    fleet.append(vessel(525_800_001, "OLD NAME", renames=[(duration * 0.5, "NEW NAME")]))
    expected.append(ExpectedAlert(AlertRule.IDENTITY_CHANGE, 525_800_001, "name"))
    fleet.append(vessel(525_800_002, "SAME NAME", renames=[(duration * 0.5, "SAME NAME")]))
    near[525_800_002] = "repeats its own name"

    # Rendezvous: a fishing vessel and a reefer carrier sail together, slow down 0.6 of the
    # distance apart for 1.3 x the minimum (straddling a grid-cell border: two cells see
    # them, one alert), then part; near misses: 1.2 x the distance apart for as long, and
    # 0.6 x the distance apart for 0.92 x the minimum.
    slow_kn = 0.5
    meet_from = step * 5

    def pair(
        mmsi: int, name: str, apart_m: float, together_s: float, *, ship_type: int = 30
    ) -> tuple[Vessel, Vessel]:
        a = vessel(mmsi, name, ship_type=ship_type)
        a.lat = math.floor(a.lat * 10 + 1e-9) / 10 - apart_m / 2 / METRES_PER_DEGREE
        b = vessel(mmsi + 1, f"{name} B", ship_type=70)
        b.lat = a.lat + apart_m / METRES_PER_DEGREE
        part_at = meet_from + together_s
        a.legs = [(meet_from, slow_kn, 90.0), (part_at, 10.0, 90.0)]
        b.legs = [(meet_from, slow_kn, 90.0), (part_at, 10.0, 0.0)]
        fleet.extend([a, b])
        return a, b

    loiters = th.loiter_min_s <= th.rendezvous_min_s * 1.3
    a, b = pair(525_900_001, "MEETER", th.rendezvous_distance_m * 0.6, th.rendezvous_min_s * 1.3)
    expected.append(ExpectedAlert(AlertRule.RENDEZVOUS, a.mmsi, f"{a.mmsi}:{b.mmsi}", closed=True))
    a, b = pair(525_900_011, "CLOSE BY", th.rendezvous_distance_m * 1.2, th.rendezvous_min_s * 1.3)
    for v in (a, b):
        if loiters:
            expected.append(ExpectedAlert(AlertRule.LOITERING, v.mmsi, "loitering", closed=True))
    pair_misses = {a.mmsi: "1.2 x the rendezvous distance apart", b.mmsi: "its partner"}
    a, b = pair(
        525_900_021, "BRIEF MEET", th.rendezvous_distance_m * 0.6, th.rendezvous_min_s * 0.92
    )
    near[a.mmsi] = near[b.mmsi] = "together for 0.92 of the rendezvous minimum"
    for mmsi in (525_900_001, 525_900_002):
        if loiters:
            expected.append(ExpectedAlert(AlertRule.LOITERING, mmsi, "loitering", closed=True))

    # Hard normal traffic: two ferries pass 100 m apart at 15 kn on opposite courses, and
    # four fishing vessels work 200 m apart at 2.5 kn (just above the rendezvous speed).
    east = vessel(525_950_001, "FERRY EAST", speed=15.0, course=90.0, ship_type=60)
    west = vessel(525_950_002, "FERRY WEST", speed=15.0, course=270.0, ship_type=60)
    west.lat = east.lat + 100 / METRES_PER_DEGREE
    west.lon = east.lon + 15.0 * duration / 3600 * NM_DEG / math.cos(math.radians(east.lat))
    fleet.extend([east, west])
    near[east.mmsi] = near[west.mmsi] = "ferries passing 100 m apart at speed"
    lead = vessel(525_960_001, "NELAYAN 1", speed=2.5, ship_type=30)
    fleet.append(lead)
    for k in range(1, 4):
        mate = Vessel(
            525_960_001 + k,
            f"NELAYAN {k + 1}",
            lead.lat + k * 200 / METRES_PER_DEGREE,
            lead.lon,
            2.5,
            90.0,
            ship_type=30,
        )
        fleet.append(mate)
    for k in range(4):
        near[lead.mmsi + k] = "a fishing fleet 200 m apart at 2.5 kn"

    messages: list[tuple[float, int, list[bytes]]] = []
    seq = 0
    for order, v in enumerate(fleet):
        offset = (order * 7) % int(step) if step >= 2 else 0.0
        s = float(offset)
        seq += 1
        messages.append(
            (t0 + s, order, [tagged(x, t0 + s, v.station) for x in _static(v, v.name, seq)])
        )
        noise = random.Random(v.mmsi)
        legs = sorted(v.legs)
        jumps = sorted(v.jumps)
        renames = sorted(v.renames)
        shift_lat = shift_lon = 0.0
        while s < duration:
            while legs and legs[0][0] <= s:
                _, v.speed_kn, v.course_deg = legs.pop(0)
            while jumps and jumps[0][0] <= s:
                _, dlat, dlon = jumps.pop(0)
                shift_lat += dlat
                shift_lon += dlon
            while renames and renames[0][0] <= s:
                _, name = renames.pop(0)
                seq += 1
                messages.append(
                    (t0 + s, order, [tagged(x, t0 + s, v.station) for x in _static(v, name, seq)])
                )
            if v.heard(s):
                sentences = _noisy(v, v.lat + shift_lat, v.lon + shift_lon, noise)
                messages.append((t0 + s, order, [tagged(x, t0 + s, v.station) for x in sentences]))
            _move(v, step)
            s += step
    messages.sort(key=lambda m: (m[0], m[1]))
    lines = [line for _, _, group in messages for line in group]
    return Scenario(
        pair_misses=pair_misses,
        start=start,
        end=datetime.fromtimestamp(t0 + duration, UTC),
        lines=lines,
        expected=expected,
        near_misses=near,
        zones=[zone, anchorage],
        watchlist=watch,
        names={v.mmsi: v.name for v in fleet},
        hard_normal=hard_normal,
    )
