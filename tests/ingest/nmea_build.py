"""Building valid AIS sentences with any raw field value, for regression tests: pyais's
encoder collapses some codes (its ShipType enum turns 9 into 0, 66 into 65), so a field is
written into the payload's bits directly and the sentence framed with a correct checksum."""

from __future__ import annotations

from typing import Any

from pyais.encode import ais_to_nmea_0183, encode_dict


def _bits_of(payload: str) -> str:
    out = []
    for ch in payload:
        value = ord(ch) - 48
        if value > 40:
            value -= 8
        out.append(f"{value:06b}")
    return "".join(out)


def _armor(bits: str) -> tuple[str, int]:
    fill = -len(bits) % 6
    bits += "0" * fill
    chars = []
    for i in range(0, len(bits), 6):
        value = int(bits[i : i + 6], 2)
        chars.append(chr(value + 48 if value < 40 else value + 56))
    return "".join(chars), fill


def sentences(data: dict[str, Any], **raw: tuple[int, int, int]) -> list[str]:
    """``encode_dict(data)`` as !AIVDM sentences, then each ``raw`` field (start bit, width,
    value; a negative value in two's complement) written over the payload's bits."""
    lines = encode_dict(data, talker_id="AI", sentence_type="VDM")
    payload = "".join(line.split(",")[5] for line in lines)
    fill = int(lines[-1].split(",")[6].split("*")[0])
    bits = _bits_of(payload)
    bits = bits[: len(bits) - fill]
    for start, width, value in raw.values():
        bits = bits[:start] + f"{value & ((1 << width) - 1):0{width}b}" + bits[start + width :]
    armored, fill = _armor(bits)
    return list(
        ais_to_nmea_0183(armored, "AI", "VDM", "A", fill, seq_id=1 if len(lines) > 1 else None)
    )
