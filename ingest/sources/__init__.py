"""Where AIS lines come from: a TCP feed, a UDP listener, a capture file."""

from ingest.sources.base import FeedSource, LineBatch

__all__ = ["FeedSource", "LineBatch"]
