"""Settings reach Kafka: the topic-creation request (replication, min.insync.replicas) and
the clients' connection arguments (TLS, SASL). Tansu is one node without TLS or SASL and
validates no topic configuration, so these mappings are checked as what they produce."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from aiokafka.errors import KafkaConnectionError
from pydantic import SecretStr, ValidationError

from bus.base import BusUnavailableError
from bus.kafka import KafkaBus
from bus.kafka_config import connection_options, new_topic
from bus.settings import BusSettings
from schemas.topics import Topic

TLS = Path(__file__).resolve().parent / "tls"


def settings(**values: object) -> BusSettings:
    return BusSettings.model_validate({"kafka_bootstrap": "k1:9093,k2:9093", **values})


def test_production_topics_have_three_replicas_two_of_them_in_sync() -> None:
    request = new_topic(Topic.AIS_POSITIONS, settings())
    assert request.name == "ais.positions"
    assert request.num_partitions == 3
    assert request.replication_factor == 3
    assert request.topic_configs == {"min.insync.replicas": "2"}


def test_a_compacted_topic_keeps_its_policy_beside_the_replication_settings() -> None:
    request = new_topic(Topic.AIS_STATIC, settings(replication_factor=1, min_insync_replicas=1))
    assert request.replication_factor == 1
    assert request.topic_configs == {"min.insync.replicas": "1", "cleanup.policy": "compact"}


def test_more_replicas_in_sync_than_exist_is_refused_with_the_variables_named() -> None:
    with pytest.raises(ValidationError, match="LOOKOUT_MIN_INSYNC_REPLICAS"):
        settings(replication_factor=1)


def test_plaintext_passes_no_tls_and_no_credentials() -> None:
    options = connection_options(settings())
    assert options == {
        "bootstrap_servers": "k1:9093,k2:9093",
        "client_id": "lookout",
        "security_protocol": "PLAINTEXT",
    }


def test_mutual_tls_builds_a_verifying_context_from_the_files() -> None:
    options = connection_options(
        settings(
            kafka_security_protocol="SSL",
            kafka_ssl_cafile=TLS / "ca.pem",
            kafka_ssl_certfile=TLS / "client.pem",
            kafka_ssl_keyfile=TLS / "client.key",
        )
    )
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert options["security_protocol"] == "SSL"
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    [ca] = context.get_ca_certs()
    assert dict(x[0] for x in ca["subject"])["commonName"] == "lookout-test-ca"
    assert "sasl_mechanism" not in options


def test_a_missing_certificate_file_fails_at_start_not_at_first_connection() -> None:
    with pytest.raises(FileNotFoundError):
        connection_options(
            settings(kafka_security_protocol="SSL", kafka_ssl_cafile=TLS / "absent.pem")
        )


def test_sasl_scram_over_tls_passes_the_mechanism_and_the_secret() -> None:
    configured = settings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-256",
        kafka_sasl_username="lookout-fusion",
        kafka_sasl_password="s3cret",
    )
    assert isinstance(configured.kafka_sasl_password, SecretStr)
    assert "s3cret" not in repr(configured)
    options = connection_options(configured)
    assert options["security_protocol"] == "SASL_SSL"
    assert isinstance(options["ssl_context"], ssl.SSLContext)  # the system's CAs
    assert options["sasl_mechanism"] == "SCRAM-SHA-256"
    assert options["sasl_plain_username"] == "lookout-fusion"
    assert options["sasl_plain_password"] == "s3cret"


def test_sasl_without_credentials_is_refused() -> None:
    with pytest.raises(ValidationError, match="LOOKOUT_KAFKA_SASL_USERNAME"):
        settings(kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_mechanism="PLAIN")


@pytest.mark.kafka
async def test_producer_consumer_and_admin_client_all_speak_sasl_when_told(
    kafka_settings: BusSettings,
) -> None:
    """Tansu has no SASL: a client that asks for it is refused at once, while a plain one
    connects (every other Kafka test). So each refusal shows the settings reached it."""
    told = kafka_settings.model_copy(
        update={
            "kafka_security_protocol": "SASL_PLAINTEXT",
            "kafka_sasl_mechanism": "PLAIN",
            "kafka_sasl_username": "lookout",
            "kafka_sasl_password": SecretStr("secret"),
        }
    )
    bus = KafkaBus(told, source="/tests")
    with pytest.raises(BusUnavailableError) as refused:
        await bus.start()  # the producer (its error says where, for a one-line CLI message)
    assert isinstance(refused.value.__cause__, KafkaConnectionError)
    with pytest.raises(KafkaConnectionError):
        await bus.ensure_topics(["test.sasl"])  # the admin client
    consumer = bus._consumer("test.sasl")
    with pytest.raises(KafkaConnectionError):
        await consumer.start()
    await consumer.stop()
    await bus.stop()
