"""MMSI classification (ITU-R M.585): flags on the event, never a reason to drop it."""

from __future__ import annotations

import pytest

from ingest.mmsi import classify_mmsi
from schemas.vessel import MmsiKind


@pytest.mark.parametrize(
    ("mmsi", "kind", "mid", "country"),
    [
        (525012345, MmsiKind.SHIP, 525, "ID"),  # Indonesia
        (503123456, MmsiKind.SHIP, 503, "AU"),
        (2470052, MmsiKind.COAST_STATION, 247, "IT"),  # 00MIDxxxx
        (24700520, MmsiKind.GROUP, 247, "IT"),  # 0MIDxxxxx
        (111525101, MmsiKind.SAR_AIRCRAFT, 525, "ID"),
        (995251234, MmsiKind.AID_TO_NAVIGATION, 525, "ID"),
        (985031234, MmsiKind.CRAFT_ASSOCIATED, 503, "AU"),
        (852512345, MmsiKind.HANDHELD_VHF, 525, "ID"),
        (970123456, MmsiKind.SART, None, None),
        (972123456, MmsiKind.MOB, None, None),
        (974123456, MmsiKind.EPIRB, None, None),
    ],
)
def test_valid_numbers_are_classified_with_their_flag(
    mmsi: int, kind: MmsiKind, mid: int | None, country: str | None
) -> None:
    info = classify_mmsi(mmsi)
    assert (info.valid, info.kind, info.mid, info.country) == (True, kind, mid, country)
    assert not info.placeholder and info.reason is None


@pytest.mark.parametrize("mmsi", [0, 123456789, 111111111, 999999999, 1193046, 987654321])
def test_placeholder_numbers_are_flagged(mmsi: int) -> None:
    info = classify_mmsi(mmsi)
    assert not info.valid and info.placeholder and info.reason


@pytest.mark.parametrize(
    ("mmsi", "why"),
    [
        (200123456, "MID 200 is not allocated"),
        (112345678, "matches no ITU-R M.585 pattern"),
        (1_000_000_000, "not a nine-digit number"),
    ],
)
def test_invalid_numbers_say_why(mmsi: int, why: str) -> None:
    info = classify_mmsi(mmsi)
    assert not info.valid and not info.placeholder
    assert info.reason is not None and why in info.reason


def test_the_mid_table_agrees_with_pyais_transcription_of_the_itu_table_but_where_noted() -> None:
    """pyais's table is a transcription of the ITU MID table; where ours differs, the ITU
    table and ISO 3166 say ours is right (each case is explained in ingest/mid.py)."""
    from pyais.constants import COUNTRY_MAPPING

    from ingest.mid import MID_COUNTRY

    theirs = {mid: code for mid, (code, _) in COUNTRY_MAPPING.items()}
    differences = {
        mid: (theirs.get(mid), MID_COUNTRY.get(mid))
        for mid in theirs.keys() | MID_COUNTRY.keys()
        if theirs.get(mid) != MID_COUNTRY.get(mid)
    }
    assert differences == {
        306: ("CW", "NL"),
        501: ("AQ", "TF"),
        550: (None, "TL"),
        608: ("IO", "SH"),
        618: ("AQ", "TF"),
        635: ("AQ", "TF"),
        638: (None, "SS"),
        740: ("UK", "FK"),
    }


def test_the_bali_process_regions_flags_are_read_from_their_mids() -> None:
    from ingest.mid import MID_COUNTRY

    region = {503: "AU", 525: "ID", 533: "MY", 548: "PH", 563: "SG", 567: "TH", 574: "VN"}
    region |= {506: "MM", 508: "BN", 514: "KH", 550: "TL", 553: "PG", 512: "NZ", 405: "BD"}
    region |= {417: "LK", 419: "IN", 463: "PK", 422: "IR", 401: "AF", 412: "CN"}
    assert {mid: MID_COUNTRY[mid] for mid in region} == region
