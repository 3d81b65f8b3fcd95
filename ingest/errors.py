"""Errors of the ingest room. Each carries the reason a reader of ``ais.rejects`` sees."""

from __future__ import annotations

from schemas.ais import RejectReason


class IngestError(RuntimeError):
    """Base of the ingest room's errors."""


class SourceError(IngestError):
    """A feed could not be opened or read (bad address, missing file)."""


class SentenceRejected(IngestError):
    """A line that cannot become a typed event; ``reason`` travels to ``ais.rejects``."""

    def __init__(self, reason: RejectReason, detail: str, msg_type: int | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.msg_type = msg_type
