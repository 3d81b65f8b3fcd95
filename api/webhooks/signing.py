"""Standard Webhooks signatures, with the spec's own library (``standardwebhooks``).

Headers of every delivery:

* ``webhook-id``: the alert event's deterministic id (the Kafka record's ``ce_id``), the
  same on every retry and redelivery, so a receiver deduplicates on it;
* ``webhook-timestamp``: seconds since the epoch at signing (each attempt signs afresh, so
  a receiver's five-minute tolerance holds for retries days later);
* ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``. During a
  secret rotation's overlap two signatures are sent, space-separated (new first): a receiver
  holding either secret verifies, so endpoints switch secrets without downtime.

Secrets are ``whsec_`` + base64 of 32 random bytes (the spec allows 24 to 64).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret(n_bytes: int = SECRET_BYTES) -> str:
    if not 24 <= n_bytes <= 64:
        raise ValueError("a webhook secret has 24 to 64 bytes")
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(n_bytes)).decode()


def is_valid_secret(secret: str) -> bool:
    if not secret.startswith(SECRET_PREFIX):
        return False
    try:
        raw = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except ValueError:
        return False
    return 24 <= len(raw) <= 64


def signature_header(
    secrets_in_use: Sequence[str], msg_id: str, timestamp: datetime, body: str
) -> str:
    """The ``webhook-signature`` value: one ``v1,`` signature per secret, space-separated."""
    if not secrets_in_use:
        raise ValueError("no secret to sign with")
    return " ".join(Webhook(s).sign(msg_id, timestamp, body) for s in secrets_in_use)


def signed_headers(
    secrets_in_use: Sequence[str], msg_id: str, timestamp: datetime, body: str
) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature_header(secrets_in_use, msg_id, timestamp, body),
    }
