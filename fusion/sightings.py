"""A patrol or community sighting's position, checked against the land before fusion uses
it. A sighting well inside the land is bad input (a typo in a coordinate, a swapped sign,
degrees and minutes mixed up): raised as a dark target or a distress it would send a watch
officer to a jungle. Natural Earth 1:50m land is coarse (a beach can be a mile "inland",
rivers and estuaries are land), so only a sighting farther inland than
``report_max_inland_nm`` is refused; nearer ones are used as they are."""

from __future__ import annotations

import shapely

from bus.base import Record
from fusion.geo.coastline import Coastline
from fusion.geo.distance import METRES_PER_NM, haversine_m
from schemas.patrol import PatrolReport


def inland_nm(coastline: Coastline, lat: float, lon: float) -> float:
    """How far inside the land the point is, nm (0 at sea). One point at a time: sightings
    are a few a minute, positions never come here."""
    point = shapely.Point(lon, lat)
    if len(coastline.land_tree.query(point, predicate="intersects")) == 0:
        return 0.0
    nearest = coastline.pieces[coastline.tree.nearest(point)]
    coast_lon, coast_lat = shapely.get_coordinates(shapely.shortest_line(point, nearest))[1]
    return float(haversine_m(lat, lon, coast_lat, coast_lon)) / METRES_PER_NM


def sea_report(record: Record, coastline: Coastline, max_inland_nm: float) -> PatrolReport:
    """The record's report, or ValueError saying why it cannot be a sighting at sea (the
    caller refuses it to the dead-letter topic, as a report that does not validate)."""
    report = record.decode(PatrolReport)
    inland = inland_nm(coastline, report.lat, report.lon)
    if inland > max_inland_nm:
        raise ValueError(
            f"position {report.lat:.4f}, {report.lon:.4f} is {inland:.0f} nm inland "
            f"(Natural Earth 1:50m land; LOOKOUT_FUSION_REPORT_MAX_INLAND_NM={max_inland_nm:g})"
        )
    return report
