"""The seam every feed source fits: an async stream of line batches (like pyais's streams,
but batched, so the hot path pays one await per socket read or file chunk, not per line)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class LineBatch:
    """Lines received together, and when (UTC). Lines are raw bytes, line ends included
    or not; the decoder strips them."""

    lines: list[bytes]
    received_at: datetime


class FeedSource(Protocol):
    """A source of AIS lines. ``name`` identifies it on every event (``source`` field) and
    keys its rejects, e.g. ``tcp://relay:5631``."""

    @property
    def name(self) -> str: ...

    def batches(self) -> AsyncIterator[LineBatch]:
        """Batches until the source ends (a file) or forever (a live feed)."""
        ...
