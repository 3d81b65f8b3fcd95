"""Replay of a capture file: plain NMEA, NMEA 4.0 tag blocks, or a leading timestamp column
(``.gz`` files are read as they are).

``speed`` 0 reads as fast as decoding goes; ``speed`` N sleeps so that the recorded times
(tag block ``c:`` or the timestamp column) pass N times faster than they did. Lines without
a recorded time travel with the last line that had one.
"""

from __future__ import annotations

import asyncio
import gzip
import time
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, cast

from ingest.errors import SourceError
from ingest.nmea import recorded_time
from ingest.sources.base import LineBatch, LineSplitter

_CHUNK_BYTES = 256 * 1024
_PACED_BATCH_LINES = 500


class FileSource:
    def __init__(
        self,
        path: Path,
        *,
        speed: float = 0.0,
        on_progress: Callable[[int], None] | None = None,
        name: str | None = None,
        max_line_bytes: int = 1024,
    ) -> None:
        if speed < 0:
            raise SourceError(f"speed must be 0 (as fast as possible) or positive, not {speed}")
        self.path = path
        self.speed = speed
        self.max_line_bytes = max_line_bytes
        """A longer line is passed on cut (and rejected), never read whole into memory."""
        self.on_progress = on_progress
        """Called with the number of bytes read so far (for a progress bar)."""
        self._name = name or f"file://{path.resolve()}"

    @property
    def name(self) -> str:
        return self._name

    @property
    def size_bytes(self) -> int:
        return self.path.stat().st_size

    def _open(self) -> BinaryIO:
        try:
            if self.path.suffix == ".gz":
                return cast(BinaryIO, gzip.open(self.path, "rb"))
            return self.path.open("rb")
        except OSError as exc:
            raise SourceError(f"cannot read {self.path}: {exc.strerror or exc}") from exc

    async def batches(self) -> AsyncIterator[LineBatch]:
        with self._open() as stream:
            reading = self._as_fast_as_possible(stream) if self.speed == 0 else self._paced(stream)
            try:
                async for batch in reading:
                    yield batch
            except (OSError, EOFError, zlib.error) as exc:
                # gzip.BadGzipFile is an OSError; a truncated .gz ends in EOFError.
                raise SourceError(f"cannot read {self.path}: {_reason(exc)}") from exc

    async def _as_fast_as_possible(self, stream: BinaryIO) -> AsyncIterator[LineBatch]:
        raw = getattr(stream, "fileobj", None) or stream  # progress in compressed bytes
        lines_of = LineSplitter(self.max_line_bytes)
        while chunk := stream.read(_CHUNK_BYTES):
            if lines := lines_of.feed(chunk):
                yield LineBatch(lines, datetime.now(UTC))
            if self.on_progress is not None:
                self.on_progress(raw.tell())
        if tail := lines_of.end():
            yield LineBatch([tail], datetime.now(UTC))

    def _lines(self, stream: BinaryIO) -> Iterator[bytes]:
        """The lines of ``stream``, newline kept, none read beyond ``max_line_bytes``."""
        lines_of = LineSplitter(self.max_line_bytes)
        while chunk := stream.read(_CHUNK_BYTES):
            for line in lines_of.feed(chunk):
                yield line + b"\n"
        if tail := lines_of.end():
            yield tail

    async def _paced(self, stream: BinaryIO) -> AsyncIterator[LineBatch]:
        first_recorded_s: float | None = None
        started_s = time.monotonic()
        batch: list[bytes] = []
        done_bytes = 0
        for line in self._lines(stream):
            recorded = recorded_time(line)
            if recorded is not None:
                if first_recorded_s is None:
                    first_recorded_s, started_s = recorded.timestamp(), time.monotonic()
                due_s = started_s + (recorded.timestamp() - first_recorded_s) / self.speed
                wait_s = due_s - time.monotonic()
                if wait_s > 0:
                    if batch:
                        yield LineBatch(batch, datetime.now(UTC))
                        batch = []
                    await asyncio.sleep(wait_s)
            batch.append(line)
            done_bytes += len(line)
            if len(batch) >= _PACED_BATCH_LINES:
                yield LineBatch(batch, datetime.now(UTC))
                batch = []
            if self.on_progress is not None and not batch:
                self.on_progress(done_bytes)
        if batch:
            yield LineBatch(batch, datetime.now(UTC))
        if self.on_progress is not None:
            self.on_progress(done_bytes)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, gzip.BadGzipFile):
        return f"not a valid gzip file ({exc})"
    if isinstance(exc, EOFError):
        return "the gzip file is cut short (truncated download or copy?)"
    if isinstance(exc, zlib.error):
        return f"the gzip file is corrupt ({exc})"
    return str(exc.strerror if isinstance(exc, OSError) and exc.strerror else exc)
