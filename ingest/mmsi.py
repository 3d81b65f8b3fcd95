"""What an MMSI's digits say about its bearer (ITU-R M.585), as flags for every AIS event.

An invalid or placeholder MMSI never stops a report: it is flagged, so fusion's identity
detectors and the watch floor see a vessel hiding behind a made-up number.
"""

from __future__ import annotations

from functools import lru_cache

from ingest.mid import MID_COUNTRY
from schemas.vessel import MmsiInfo, MmsiKind

# Numbers left in unconfigured or cheap transponders (and seen on real feeds):
# counting sequences, repeated digits, and 0x123456 (1193046) from a common firmware default.
PLACEHOLDER_MMSIS: frozenset[int] = frozenset(
    {0, 123456789, 987654321, 12345678, 1234567, 1193046} | {int(str(d) * 9) for d in range(1, 10)}
)

# Personal and distress beacons (970xxyyyy etc.) carry a manufacturer id, not a MID.
_BEACON_KINDS = {"970": MmsiKind.SART, "972": MmsiKind.MOB, "974": MmsiKind.EPIRB}


@lru_cache(maxsize=65_536)
def classify_mmsi(mmsi: int) -> MmsiInfo:
    """Kind, flag state and validity of ``mmsi``. Cached: a feed repeats the same few
    thousand vessels, and ``MmsiInfo`` is immutable."""
    if mmsi in PLACEHOLDER_MMSIS:
        return MmsiInfo(valid=False, placeholder=True, reason=f"placeholder number {mmsi}")
    if not 0 < mmsi <= 999_999_999:
        return MmsiInfo(valid=False, reason=f"{mmsi} is not a nine-digit number")
    digits = f"{mmsi:09d}"
    beacon = _BEACON_KINDS.get(digits[:3])
    if beacon is not None:
        return MmsiInfo(valid=True, kind=beacon)
    kind, mid_at = _kind_and_mid_position(digits)
    if kind is MmsiKind.UNKNOWN:
        return MmsiInfo(valid=False, reason=f"{digits} matches no ITU-R M.585 pattern")
    mid = int(digits[mid_at : mid_at + 3])
    country = MID_COUNTRY.get(mid)
    if country is None:
        return MmsiInfo(valid=False, kind=kind, mid=mid, reason=f"MID {mid} is not allocated")
    return MmsiInfo(valid=True, kind=kind, mid=mid, country=country)


def _kind_and_mid_position(digits: str) -> tuple[MmsiKind, int]:
    """The station class a nine-digit MMSI denotes and where its MID starts."""
    first = digits[0]
    if digits.startswith("00"):
        return MmsiKind.COAST_STATION, 2
    if first == "0":
        return MmsiKind.GROUP, 1
    if digits.startswith("111"):
        return MmsiKind.SAR_AIRCRAFT, 3
    if digits.startswith("99"):
        return MmsiKind.AID_TO_NAVIGATION, 2
    if digits.startswith("98"):
        return MmsiKind.CRAFT_ASSOCIATED, 2
    if first == "8":
        return MmsiKind.HANDHELD_VHF, 1
    if "2" <= first <= "7":
        return MmsiKind.SHIP, 0
    return MmsiKind.UNKNOWN, 0
