"""The default payload: the alert event as a CloudEvents 1.0 JSON document (structured
content mode, ``application/cloudevents+json``).

The context attributes are the Kafka record's own (``id``, ``type``, ``source``, ``time``),
so the ``id`` equals ``webhook-id`` and a receiver that also reads the bus sees one event,
not two. ``subject`` is the alert id; ``data`` is the ``Alert`` exactly as on the topic
(``data.change`` says opened, updated or closed).
"""

from __future__ import annotations

import json
from typing import Any

from schemas.alerts import Alert
from schemas.envelope import CloudEventAttributes

CONTENT_TYPE = "application/cloudevents+json"


def cloudevent(alert: Alert, attributes: CloudEventAttributes) -> dict[str, Any]:
    return {
        "specversion": attributes.specversion,
        "id": attributes.id,
        "type": attributes.type,
        "source": attributes.source,
        "subject": str(alert.alert_id),
        "time": attributes.time.isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": alert.model_dump(mode="json"),
    }


def render(alert: Alert, attributes: CloudEventAttributes) -> str:
    return json.dumps(cloudevent(alert, attributes), separators=(",", ":"), ensure_ascii=False)
