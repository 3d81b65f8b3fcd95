"""Publish/subscribe over Kafka or in-process memory, with one contract (see base.py)."""

from bus.base import (
    Bus,
    BusError,
    CommitError,
    Outgoing,
    PublishError,
    Record,
    Subscription,
    SubscriptionHealth,
)
from bus.factory import make_bus
from bus.settings import BusSettings
from bus.table_reader import TableReader

__all__ = [
    "Bus",
    "BusError",
    "BusSettings",
    "CommitError",
    "Outgoing",
    "PublishError",
    "Record",
    "Subscription",
    "SubscriptionHealth",
    "TableReader",
    "make_bus",
]
