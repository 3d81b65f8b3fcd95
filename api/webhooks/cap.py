"""OASIS Common Alerting Protocol 1.2 XML for subscribers whose systems speak CAP.

One alert's life is one CAP message thread:

| alert change | ``msgType`` | ``references`` |
|---|---|---|
| opened  | ``Alert``  | none |
| updated | ``Update`` | every earlier message of this alert sent to this subscriber |
| updated, nothing sent before | ``Alert`` | none (the subscriber's first message of it) |
| closed  | ``Cancel`` | every earlier message of this alert sent to this subscriber |

``identifier`` is the alert event's deterministic id (= ``webhook-id``), ``sent`` its event
time, so a redelivered or replayed message is byte-for-byte the one sent before, and a
``references`` entry (``sender,identifier,sent``) names exactly what the receiver has.

Mapping (CAP 1.2 §3.2.2), chosen so that a coastguard's CAP tools rank our alerts as a
watch officer would:

| Lookout | CAP |
|---|---|
| severity critical / high / medium / low | ``severity`` Extreme / Severe / Moderate / Minor |
| severity critical or high | ``urgency`` Immediate (act now) |
| severity medium | ``urgency`` Expected (within the hour) |
| severity low | ``urgency`` Future |
| closed (the condition ended) | ``urgency`` Past |
| score >= 0.8 | ``certainty`` Observed (the sensors saw it) |
| score >= 0.5 | ``certainty`` Likely |
| score < 0.5 | ``certainty`` Possible |
| rule distress | ``category`` Rescue, otherwise Security |

Area: the alert's geofence as a ``<polygon>`` when it has one, and a ``<circle>`` around
the alert's position (radius: the evidence's ``uncertainty_m`` when given, else the
``webhook_cap_circle_km`` setting). ``scope`` is Restricted (partner agencies only).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from schemas.alerts import Alert, AlertChange, AlertRule, Severity

NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"
CONTENT_TYPE = "application/cap+xml"

MSG_TYPE = {
    AlertChange.OPENED: "Alert",
    AlertChange.UPDATED: "Update",
    AlertChange.CLOSED: "Cancel",
}
SEVERITY = {
    Severity.CRITICAL: "Extreme",
    Severity.HIGH: "Severe",
    Severity.MEDIUM: "Moderate",
    Severity.LOW: "Minor",
}
URGENCY = {
    Severity.CRITICAL: "Immediate",
    Severity.HIGH: "Immediate",
    Severity.MEDIUM: "Expected",
    Severity.LOW: "Future",
}
OBSERVED_SCORE = 0.8
LIKELY_SCORE = 0.5
_FORBIDDEN = re.compile(r"[\s,<&]")


@dataclass(frozen=True)
class CapReference:
    """An earlier message of the same thread: ``sender,identifier,sent``."""

    identifier: str
    sent: datetime


def cap_time(moment: datetime) -> str:
    """CAP's date form: seconds, numeric offset, UTC written as ``-00:00`` (§3.3.2)."""
    text = moment.astimezone(UTC).replace(microsecond=0).isoformat()
    return text.replace("+00:00", "-00:00")


def cap_identifier(event_id: str) -> str:
    """CAP identifiers may not hold spaces, commas, ``<`` or ``&``."""
    return _FORBIDDEN.sub("_", event_id)


def certainty(score: float) -> str:
    if score >= OBSERVED_SCORE:
        return "Observed"
    if score >= LIKELY_SCORE:
        return "Likely"
    return "Possible"


def _sub(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{NAMESPACE}}}{tag}")
    element.text = text
    return element


def _polygon_text(ring: Sequence[tuple[float, float]]) -> str | None:
    """A closed ring of (lon, lat) as CAP's ``lat,lon lat,lon ...`` (at least 4 points,
    first equals last); None when the ring cannot be one."""
    points = list(ring)
    if len(points) < 3:
        return None
    if points[0] != points[-1]:
        points.append(points[0])
    if len(points) < 4:
        return None
    return " ".join(f"{lat:.6f},{lon:.6f}" for lon, lat in points)


def render(
    alert: Alert,
    *,
    identifier: str,
    sent: datetime,
    sender: str,
    references: Sequence[CapReference] = (),
    polygon: Sequence[tuple[float, float]] | None = None,
    circle_km: float = 1.0,
) -> str:
    """The CAP 1.2 document for one alert event, as a UTF-8 XML string."""
    ET.register_namespace("", NAMESPACE)
    root = ET.Element(f"{{{NAMESPACE}}}alert")
    _sub(root, "identifier", cap_identifier(identifier))
    _sub(root, "sender", sender)
    _sub(root, "sent", cap_time(sent))
    _sub(root, "status", "Actual")
    msg_type = MSG_TYPE[alert.change]
    if alert.change is AlertChange.UPDATED and not references:
        # The subscriber never had this alert (its filters admitted only the update, say a
        # severity raised to its minimum): for it, this is the first message.
        msg_type = "Alert"
    _sub(root, "msgType", msg_type)
    _sub(root, "scope", "Restricted")
    _sub(root, "restriction", "Partner agencies of the fusion centre, under its sharing rule")
    if alert.change is not AlertChange.OPENED and references:
        _sub(
            root,
            "references",
            " ".join(
                f"{sender},{cap_identifier(r.identifier)},{cap_time(r.sent)}" for r in references
            ),
        )

    info = ET.SubElement(root, f"{{{NAMESPACE}}}info")
    _sub(info, "language", "en")
    _sub(info, "category", "Rescue" if alert.rule is AlertRule.DISTRESS else "Security")
    _sub(info, "event", alert.rule.value.replace("_", " "))
    _sub(info, "responseType", "Monitor" if alert.change is not AlertChange.CLOSED else "AllClear")
    closed = alert.change is AlertChange.CLOSED
    _sub(info, "urgency", "Past" if closed else URGENCY[alert.severity])
    _sub(info, "severity", SEVERITY[alert.severity])
    _sub(info, "certainty", certainty(alert.score))
    _sub(info, "onset", cap_time(alert.started_at))
    if alert.ended_at is not None:
        _sub(info, "expires", cap_time(alert.ended_at))
    _sub(info, "senderName", "Lookout maritime fusion centre")
    _sub(info, "headline", alert.title[:160])
    description = f"{alert.title}. Status {alert.status.value}, score {alert.score:.2f}."
    if alert.mmsis:
        description += " Vessels (MMSI): " + ", ".join(str(m) for m in alert.mmsis) + "."
    if closed:
        description += " The condition has ended."
    _sub(info, "description", description)
    for name, value in (
        ("alertId", str(alert.alert_id)),
        ("rule", alert.rule.value),
        ("change", alert.change.value),
        ("subject", alert.subject),
        ("mmsi", " ".join(str(m) for m in alert.mmsis)),
    ):
        if value:
            parameter = ET.SubElement(info, f"{{{NAMESPACE}}}parameter")
            _sub(parameter, "valueName", name)
            _sub(parameter, "value", value)

    polygon_text = _polygon_text(polygon) if polygon else None
    if polygon_text is not None or (alert.lat is not None and alert.lon is not None):
        area = ET.SubElement(info, f"{{{NAMESPACE}}}area")
        area_desc = f"geofence {alert.geofence_id}" if alert.geofence_id else "alert position"
        _sub(area, "areaDesc", area_desc)
        if polygon_text is not None:
            _sub(area, "polygon", polygon_text)
        if alert.lat is not None and alert.lon is not None:
            radius_km = circle_km
            uncertainty = alert.evidence.get("uncertainty_m")
            if isinstance(uncertainty, int | float) and uncertainty > 0:
                radius_km = float(uncertainty) / 1000.0
            _sub(area, "circle", f"{alert.lat:.6f},{alert.lon:.6f} {radius_km:.3f}")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
