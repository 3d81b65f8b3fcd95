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


class LineSplitter:
    """Splits a byte stream into lines without buffering a line beyond ``max_line_bytes``:
    an over-long line is passed on as its first ``max_line_bytes + 1`` bytes (so the decoder
    rejects it as malformed and no line goes uncounted) and the rest of it, up to the next
    newline, is discarded as it arrives."""

    def __init__(self, max_line_bytes: int) -> None:
        self.max_line_bytes = max_line_bytes
        self._tail = b""
        self._discarding = False

    def feed(self, chunk: bytes) -> list[bytes]:
        """The lines ``chunk`` completes (without their newline)."""
        if self._discarding:
            newline = chunk.find(b"\n")
            if newline < 0:
                return []
            chunk = chunk[newline + 1 :]
            self._discarding = False
        lines = (self._tail + chunk).split(b"\n")
        tail = lines.pop()
        if len(tail) > self.max_line_bytes:
            lines.append(tail[: self.max_line_bytes + 1])
            tail = b""
            self._discarding = True
        self._tail = tail
        return lines

    def end(self) -> bytes:
        """The unterminated last line at the end of the stream (empty if none)."""
        tail, self._tail, self._discarding = self._tail, b"", False
        return tail
