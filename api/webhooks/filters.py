"""Which alert events a subscription receives.

A subscription's filters are all optional (none means "any"): alert rules, a minimum
severity and an area (GeoJSON polygon; an alert matches when its position lies inside or
on the edge; an alert without a position does not match an area filter, since nobody
can say it is in the area). On top of them, always, the subscribing agency's sharing rule
(ARCHITECTURE.md; issue 15): a subscriber never receives an alert its agency may not read.

The sharing rule, as the API's row-level security states it for alerts:

* an AIS-derived alert (``source_agency`` None) is visible to every agency;
* an alert raised from a patrol report is visible to the reporting agency and to agencies
  that filed at least one report within the window (``LOOKOUT_SHARING_WINDOW_DAYS``,
  default 90, the API's own setting) — contribution is measured from reports filed;
* a distress (safety of life) alert is visible to every agency, evidence included: the
  distress detector puts only position, time, kinds, device counts and a persons estimate
  in it (issue 17), never a report's narrative, reporter or notes, which stay under the
  rule in ``patrol_reports`` (tests/fusion/test_distress.py checks the evidence).
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from schemas.alerts import Alert, AlertRule, Severity
from store.webhooks import SubscriptionRow

SEVERITY_RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2, Severity.CRITICAL: 3}


@dataclass(frozen=True)
class Visibility:
    visible: bool
    redact_evidence: bool = False


def visibility(alert: Alert, agency_id: str, contributors: Set[str]) -> Visibility:
    if alert.source_agency is None or alert.source_agency == agency_id:
        return Visibility(True)
    if agency_id in contributors:
        return Visibility(True)
    if alert.rule is AlertRule.DISTRESS:
        return Visibility(True)
    return Visibility(False)


class CompiledFilter:
    """A subscription's filters, with its area parsed and prepared once."""

    def __init__(self, subscription: SubscriptionRow) -> None:
        self.subscription = subscription
        self.rules = frozenset(subscription.rules) if subscription.rules else None
        self.min_rank = (
            SEVERITY_RANK[Severity(subscription.min_severity)]
            if subscription.min_severity
            else None
        )
        self.area: BaseGeometry | None = None
        if subscription.area is not None:
            self.area = shape(subscription.area)
            shapely.prepare(self.area)

    def matches(self, alert: Alert) -> bool:
        if self.rules is not None and alert.rule.value not in self.rules:
            return False
        if self.min_rank is not None and SEVERITY_RANK[alert.severity] < self.min_rank:
            return False
        if self.area is not None:
            if alert.lat is None or alert.lon is None:
                return False
            if not self.area.covers(shapely.Point(alert.lon, alert.lat)):
                return False
        return True


def area_bounds(area: dict[str, Any]) -> tuple[float, float, float, float]:
    minx, miny, maxx, maxy = shape(area).bounds
    return (float(minx), float(miny), float(maxx), float(maxy))
