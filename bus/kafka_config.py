"""Settings -> aiokafka arguments: the connection (TLS, SASL) shared by producer, consumers
and the admin client, and the topic-creation request.

Pure functions, so the mapping is tested on its own: the test broker (Tansu) is one node
with no TLS or SASL and validates no topic configuration, so it could not tell a missing
``min.insync.replicas`` from a present one.
"""

from __future__ import annotations

import ssl
from typing import Any

from aiokafka.admin import NewTopic
from aiokafka.helpers import create_ssl_context

from bus.settings import BusSettings
from schemas.topics import COMPACTED_TOPICS


def connection_options(settings: BusSettings) -> dict[str, Any]:
    """Keyword arguments for ``AIOKafkaProducer``, ``AIOKafkaConsumer`` and
    ``AIOKafkaAdminClient``: where the brokers are and how to talk to them."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "client_id": settings.kafka_client_id,
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = ssl_context(settings)
    if settings.kafka_security_protocol.startswith("SASL_"):
        password = settings.kafka_sasl_password
        # aiokafka reads the SCRAM credentials from the sasl_plain_* arguments too.
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        options["sasl_plain_password"] = None if password is None else password.get_secret_value()
    return options


def ssl_context(settings: BusSettings) -> ssl.SSLContext:
    """A client TLS context that verifies the brokers (hostname and chain): the CA file
    when given, else the system's CAs; a client certificate for mutual TLS when given."""
    key_password = settings.kafka_ssl_key_password
    context: ssl.SSLContext = create_ssl_context(
        cafile=None if settings.kafka_ssl_cafile is None else str(settings.kafka_ssl_cafile),
        certfile=None if settings.kafka_ssl_certfile is None else str(settings.kafka_ssl_certfile),
        keyfile=None if settings.kafka_ssl_keyfile is None else str(settings.kafka_ssl_keyfile),
        password=None if key_password is None else key_password.get_secret_value(),
    )
    return context


def new_topic(name: str, settings: BusSettings) -> NewTopic:
    """The creation request of one Lookout topic: partitions, replication factor and
    ``min.insync.replicas`` from settings (with acks=all a write then survives the loss of
    ``replication_factor - min_insync_replicas`` brokers); compacted topics keep the last
    value per key."""
    configs = {"min.insync.replicas": str(settings.min_insync_replicas)}
    if name in COMPACTED_TOPICS:
        configs["cleanup.policy"] = "compact"
    return NewTopic(
        name=name,
        num_partitions=settings.partitions,
        replication_factor=settings.replication_factor,
        topic_configs=configs,
    )
