"""AIS sentences from field dictionaries, exactly as ``pyais.encode_dict`` writes them, for
the scenario generator (tests, benchmarks and ``lookout up``'s demo feed).

pyais builds the message and splits it into NMEA sentences; only the six-bit armouring of
the payload is done here, on one integer, where pyais's ``SixBitNibleEncoder`` walks the
bits in Python: that walk was half the CPU of building a scenario (a demo start generates
41,000 sentences). ``tests/ingest/test_ais_encode.py`` holds the two to the same output.
"""

from __future__ import annotations

from typing import Any

from pyais.encode import ais_to_nmea_0183, data_to_payload, get_ais_type

_ARMOUR = bytes(v + 48 if v < 40 else v + 56 for v in range(64))
"""Six-bit value -> payload character (ITU-R M.1371 / IEC 61162-1 armouring)."""


def armour(data: bytes, bits: int) -> tuple[str, int]:
    """The first ``bits`` bits of ``data`` as payload characters, and the fill bits added
    to reach a multiple of six."""
    fill = (6 - bits % 6) % 6
    value = int.from_bytes(data, "big") >> (len(data) * 8 - bits) << fill
    chars = (bits + fill) // 6
    return bytes(_ARMOUR[(value >> (6 * i)) & 63] for i in range(chars - 1, -1, -1)).decode(
        "ascii"
    ), fill


def encode_dict(
    data: dict[str, Any],
    talker_id: str = "AI",
    sentence_type: str = "VDO",
    radio_channel: str = "A",
    seq_id: int | None = None,
) -> list[str]:
    """``pyais.encode_dict``'s sentences for ``data`` (with its ``type``)."""
    payload = data_to_payload(get_ais_type(data), data)
    armoured, fill = armour(*payload.to_bytes())
    return list(
        ais_to_nmea_0183(armoured, talker_id, sentence_type, radio_channel, fill, seq_id=seq_id)
    )
