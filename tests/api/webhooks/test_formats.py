"""Signatures, CAP 1.2 and CloudEvents payloads, and the retry schedule's arithmetic."""

from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from api.webhooks import cap, cloudevents
from api.webhooks.schedule import SVIX_SCHEDULE_S, RetryPlan, parse_retry_after
from api.webhooks.signing import is_valid_secret, new_secret, signed_headers
from schemas.alerts import Alert, AlertChange, AlertRule, AlertStatus, Severity
from schemas.envelope import attributes_for

NS = {"cap": cap.NAMESPACE}
T0 = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)


def gap_alert(**changes: object) -> Alert:
    alert = Alert.open(
        rule=AlertRule.AIS_GAP,
        subject="525001234",
        mmsis=[525001234],
        severity=Severity.HIGH,
        score=0.9,
        title="AIS gap: 525001234 silent for 14 h",
        started_at=T0,
        lat=-8.5,
        lon=115.2,
    )
    return alert.model_copy(update=changes)


def test_secrets_are_whsec_base64_of_24_to_64_random_bytes() -> None:
    secret = new_secret()
    assert is_valid_secret(secret)
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert new_secret() != secret
    with pytest.raises(ValueError):
        new_secret(16)


def test_during_a_rotation_either_secret_verifies() -> None:
    old, new = new_secret(), new_secret()
    now = datetime.now(UTC)
    headers = signed_headers([new, old], "evt-1", now, '{"a":1}')
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert Webhook(secret).verify('{"a":1}', headers) == {"a": 1}
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify('{"a":1}', headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify('{"a":2}', headers)


def test_cloudevents_structured_mode_carries_the_record_attributes() -> None:
    alert = gap_alert()
    attributes = attributes_for(alert, source="/fusion", event_id="evt-42")
    document = json.loads(cloudevents.render(alert, attributes))
    assert document["specversion"] == "1.0"
    assert document["id"] == "evt-42"
    assert document["type"] == "lookout.fusion.alert.v1"
    assert document["subject"] == str(alert.alert_id)
    assert document["data"]["rule"] == "ais_gap"
    assert Alert.model_validate(document["data"]) == alert


def _cap(xml: str) -> ET.Element:
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(xml.split("\n", 1)[1])


def test_cap_thread_alert_update_cancel_with_references() -> None:
    opened = gap_alert()
    updated = gap_alert(change=AlertChange.UPDATED, updated_at=T0 + timedelta(hours=1))
    closed = gap_alert(
        change=AlertChange.CLOSED,
        status=AlertStatus.CLOSED,
        updated_at=T0 + timedelta(hours=2),
        ended_at=T0 + timedelta(hours=2),
    )
    sender = "lookout@centre.test"
    first = _cap(cap.render(opened, identifier="id-1", sent=T0, sender=sender))
    second = _cap(
        cap.render(
            updated,
            identifier="id-2",
            sent=T0 + timedelta(hours=1),
            sender=sender,
            references=[cap.CapReference("id-1", T0)],
        )
    )
    third = _cap(
        cap.render(
            closed,
            identifier="id-3",
            sent=T0 + timedelta(hours=2),
            sender=sender,
            references=[
                cap.CapReference("id-1", T0),
                cap.CapReference("id-2", T0 + timedelta(hours=1)),
            ],
        )
    )
    assert [m.findtext("cap:msgType", namespaces=NS) for m in (first, second, third)] == [
        "Alert",
        "Update",
        "Cancel",
    ]
    assert first.find("cap:references", NS) is None
    assert second.findtext("cap:references", namespaces=NS) == (
        "lookout@centre.test,id-1,2026-11-23T06:30:00-00:00"
    )
    assert third.findtext("cap:references", namespaces=NS) == (
        "lookout@centre.test,id-1,2026-11-23T06:30:00-00:00 "
        "lookout@centre.test,id-2,2026-11-23T07:30:00-00:00"
    )
    for element, field in ((first, "identifier"), (first, "sender"), (first, "sent")):
        assert element.findtext(f"cap:{field}", namespaces=NS)
    assert first.findtext("cap:status", namespaces=NS) == "Actual"
    info = first.find("cap:info", NS)
    assert info is not None
    assert info.findtext("cap:category", namespaces=NS) == "Security"
    assert info.findtext("cap:severity", namespaces=NS) == "Severe"
    assert info.findtext("cap:urgency", namespaces=NS) == "Immediate"
    assert info.findtext("cap:certainty", namespaces=NS) == "Observed"
    assert info.findtext("cap:area/cap:circle", namespaces=NS) == "-8.500000,115.200000 1.000"
    closed_info = third.find("cap:info", NS)
    assert closed_info is not None
    assert closed_info.findtext("cap:urgency", namespaces=NS) == "Past"


def test_cap_an_update_is_the_first_message_for_a_subscriber_who_had_nothing_before() -> None:
    raised = gap_alert(change=AlertChange.UPDATED, updated_at=T0 + timedelta(hours=1))
    root = _cap(cap.render(raised, identifier="id-9", sent=T0, sender="s"))
    assert root.findtext("cap:msgType", namespaces=NS) == "Alert"
    assert root.find("cap:references", NS) is None


def test_cap_area_is_the_geofence_polygon_when_there_is_one() -> None:
    alert = gap_alert(rule=AlertRule.GEOFENCE_ENTER, geofence_id="mpa-1", severity=Severity.LOW)
    ring = [(115.0, -8.0), (116.0, -8.0), (116.0, -9.0), (115.0, -8.0)]
    root = _cap(cap.render(alert, identifier="x", sent=T0, sender="s", polygon=ring))
    polygon = root.findtext("cap:info/cap:area/cap:polygon", namespaces=NS)
    assert polygon == (
        "-8.000000,115.000000 -8.000000,116.000000 -9.000000,116.000000 -8.000000,115.000000"
    )
    assert root.findtext("cap:info/cap:severity", namespaces=NS) == "Minor"
    assert root.findtext("cap:info/cap:urgency", namespaces=NS) == "Future"


def test_the_schedule_is_svix_and_retry_after_is_a_floor_with_a_cap() -> None:
    plan = RetryPlan(SVIX_SCHEDULE_S, retry_after_max_s=36_000)
    assert plan.first_attempt_at(T0) == T0
    delays = [plan.next_attempt_at(n, T0) for n in range(1, 9)]
    assert [(d - T0).total_seconds() for d in delays if d] == [
        5,
        300,
        1800,
        7200,
        18000,
        36000,
        36000,
    ]
    assert delays[-1] is None  # eight attempts, then give up
    assert plan.next_attempt_at(1, T0, retry_after_s=60) == T0 + timedelta(seconds=60)
    assert plan.next_attempt_at(2, T0, retry_after_s=60) == T0 + timedelta(seconds=300)
    assert plan.next_attempt_at(1, T0, retry_after_s=10**9) == T0 + timedelta(seconds=36_000)
    assert parse_retry_after("120", T0) == 120
    assert parse_retry_after("Mon, 23 Nov 2026 06:32:00 GMT", T0) == 120
    assert parse_retry_after("soon", T0) is None
